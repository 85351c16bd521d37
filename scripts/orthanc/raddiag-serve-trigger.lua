-- Orthanc Lua script: when a study is stable, ask `raddiag serve` to diagnose it. The server pulls the
-- study by DICOMweb (WADO-RS) and stores the DICOM SR back into it (STOW-RS); see docs/serve.md.
-- Configure the three values below (or set them from the environment: os.getenv works in Orthanc's Lua).
local SERVE = os.getenv('RADDIAG_SERVE_URL') or 'http://127.0.0.1:8080'
local TOKEN = os.getenv('RADDIAG_SERVE_TOKEN') or ''
local DICOMWEB = os.getenv('RADDIAG_ORTHANC_DICOMWEB') or 'http://127.0.0.1:8042/dicom-web'

function OnStableStudy(studyId, tags, metadata)
  local uid = tags['StudyInstanceUID']
  -- Only a UID goes into the request (the JSON below is built by string concatenation).
  if uid == nil or not string.match(uid, '^[0-9.]+$') then return end
  -- The SR stored back makes the study unstable again: a study that already holds one is not resent.
  local series = ParseJson(RestApiGet('/studies/' .. studyId .. '/series'))
  for _, s in ipairs(series) do
    if s['MainDicomTags']['Modality'] == 'SR' then return end
  end
  local headers = { ['Content-Type'] = 'application/json' }
  if TOKEN ~= '' then headers['Authorization'] = 'Bearer ' .. TOKEN end
  local body = '{"dicomweb": "' .. DICOMWEB .. '", "study": "' .. uid .. '"}'
  -- raddiag answers at once (202 with the job id); the diagnosis runs in its workers. The job is
  -- idempotent on the Study UID, so a repeated trigger returns the same job.
  local answer = HttpPost(SERVE .. '/v1/studies', body, headers)
  print('raddiag serve: study ' .. uid .. ' -> ' .. tostring(answer))
end
