{{/* The release name when it contains the chart's name, else <release>-<chart>. */}}
{{- define "llmplan-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Selects the operator's pods (deploy/ selects by name alone; a release adds its instance). */}}
{{- define "llmplan-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object: deploy/'s (name, part-of) and Helm's standard ones. */}}
{{- define "llmplan-operator.labels" -}}
{{ include "llmplan-operator.selectorLabels" . }}
app.kubernetes.io/part-of: llmplan
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "llmplan-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
