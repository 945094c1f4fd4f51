/**
 * Texts of each script the service summarizes, for measuring the token estimate
 * against the real tokenizer (tokens.llm.test.ts) and for the benchmark.
 */
export const SAMPLE_TEXTS = {
  korean:
    '대한민국의 수도 서울은 한강을 중심으로 남북으로 나뉘어 있으며, 약 천만 명의 인구가 살고 있다. 조선 시대부터 600년 넘게 수도 역할을 해 온 이 도시는 경복궁, 창덕궁 같은 고궁과 현대적인 고층 빌딩이 공존하는 곳이다. 최근 서울시는 대중교통 체계를 개편하여 지하철 노선을 확장하고 버스 전용 차로를 늘렸다. 시민들은 출퇴근 시간이 줄어들었다고 평가하지만, 일부 지역에서는 여전히 교통 혼잡이 심각하다는 의견도 있다. 전문가들은 2030년까지 친환경 교통수단의 비율을 40퍼센트 이상으로 높여야 한다고 주장한다. 한편 물가 상승과 주거비 부담은 청년층에게 큰 문제로 남아 있으며, 정부는 공공 임대 주택 공급을 확대하는 정책을 발표했다. 회의에 참석한 위원들은 예산안을 검토한 뒤 새로운 교통 계획을 승인했고, 다음 달부터 시범 사업이 시작될 예정이다.',
  japanese:
    '日本の首都である東京は、世界でも有数の大都市であり、約千四百万人が暮らしている。江戸時代には将軍の城下町として栄え、明治維新の後に正式な首都となった。現在の東京には、高層ビルが立ち並ぶ新宿や渋谷のような繁華街と、浅草のように昔ながらの街並みを残す地域が共存している。近年、東京都は公共交通機関の整備を進め、鉄道の新しい路線を開業させた。しかし、通勤時間帯の混雑は依然として深刻であり、多くの利用者が不満を感じている。専門家は、テレワークの普及や時差出勤の推進が混雑緩和に役立つと指摘している。また、物価の上昇や住宅費の高騰は若い世代にとって大きな負担となっており、政府は子育て支援の拡充を発表した。委員会は予算案を審議し、来年度から新しい交通計画を実施することを決定した。',
  english:
    'The city council met on Tuesday to review the annual budget, which has grown by 4.2 percent since last year. Members debated the new transit plan for nearly three hours before approving it by a vote of seven to two. The plan extends the light-rail line to the northern suburbs, adds 120 electric buses, and introduces a single fare card for trains, buses and ferries. Critics argued that the project, estimated at $1.8 billion, relies on optimistic ridership forecasts and federal grants that have not yet been secured. Supporters replied that traffic congestion already costs local businesses millions of dollars every year, and that delaying investment would only make the problem worse. The mayor said construction could begin next spring, pending an environmental review. Residents will be able to comment on the proposal at public hearings scheduled for May and June.',
  numbers:
    'Order 48213 shipped 2026-11-03 at 14:07; invoice #A-99172, total 1,284.50 EUR (VAT 21%). Ref: 7731-0042-1189.',
  emoji: '좋아요 😀👍🎉 最高です 🚀🔥 great job ✨💯',
  french:
    "Le conseil municipal s'est réuni mardi pour examiner le budget annuel, qui a augmenté de 4,2 % depuis l'année dernière. Les élus ont débattu du nouveau plan de transport pendant près de trois heures avant de l'approuver.",
  german:
    'Der Stadtrat trat am Dienstag zusammen, um den Jahreshaushalt zu prüfen, der seit dem letzten Jahr um 4,2 Prozent gestiegen ist. Die Mitglieder diskutierten fast drei Stunden über den neuen Verkehrsplan.',
  code: 'function chunkText(text: string, maxChars: number): string[] { if (text.length <= maxChars) return [text]; const count = Math.ceil(text.length / maxChars); }',
  url: 'See https://example.com/api/v1/summary?lang=ko&type=concise or mail ops-team@example.org for details.',
  russian:
    'Городской совет собрался во вторник, чтобы рассмотреть годовой бюджет, который вырос на 4,2 процента.',
} as const;
