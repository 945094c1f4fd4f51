-- Argo CD health check for llmplan.io/SummarizerService.
-- Installed through argocd-cm (see argocd-cm.yaml); tested by test/gitops/health-lua.test.ts
-- against the recorded states in testdata/ (listed in health_test.yaml).
--
--   spec.paused                                   -> Suspended
--   status.observedGeneration < metadata.generation -> Progressing (operator has not seen the change)
--   Degraded=True                                 -> Degraded  (failed rollout, rollback, conflict,
--                                                                LM Studio unreachable)
--   Progressing=True                              -> Progressing
--   Ready=True                                    -> Healthy
--   Ready=False                                   -> Degraded
--   no conditions yet                             -> Progressing
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

if obj.spec ~= nil and obj.spec.paused == true then
  hs.status = "Suspended"
  hs.message = "Paused: spec.paused is true, the operator changes nothing"
  return hs
end

local generation = obj.metadata.generation
if obj.status == nil or obj.status.observedGeneration == nil
    or (generation ~= nil and obj.status.observedGeneration < generation) then
  hs.status = "Progressing"
  if generation ~= nil then
    hs.message = "Waiting for the operator to observe generation " .. generation
  else
    hs.message = "Waiting for the operator"
  end
  return hs
end

local degraded = condition("Degraded")
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded)
  return hs
end

local progressing = condition("Progressing")
if progressing ~= nil and progressing.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(progressing)
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = "Waiting for the operator to report conditions"
return hs
