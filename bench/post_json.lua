-- wrk script for `make bench`: POSTs JSON bodies with a rotating set of everyday
-- sentences (8-40 tokens) in the field BENCH_FIELD (default "text", as /embed_text
-- takes; "prompt" for /llm) plus the fields of BENCH_EXTRA (raw JSON members, e.g.
-- '"provider": "echo"'), and prints one JSON line (prefixed BENCH_JSON) at the end.
local sentences = {
  "The quick brown fox jumps over the lazy dog.",
  "Our customer asked for a refund after the second delivery arrived late.",
  "Kubernetes schedules pods onto nodes based on their resource requests.",
  "A small dog barked at the postman every morning for three years.",
  "The new model answers questions about the warehouse inventory in real time.",
  "Please reset my password; I can no longer sign in to the portal.",
  "Rain is expected across the northern coast from Thursday evening.",
  "The engineer replaced the faulty sensor and recalibrated the robot arm.",
  "Quarterly revenue grew by eleven percent, driven by subscriptions.",
  "My neighbour grows tomatoes, peppers and basil on her balcony.",
  "The train to the airport leaves every twenty minutes from platform four.",
  "Add two cups of flour, a pinch of salt and mix until smooth.",
  "The committee postponed its decision until the safety report is complete.",
  "Children learn languages faster when they hear them spoken at home every day.",
  "The museum opens a new exhibition about lighthouses and their keepers next month.",
  "Turn left at the second roundabout and the hotel is on your right.",
}
-- BENCH_SENTENCES names a file of sentences (one a line, no quotes) used instead.
local file = os.getenv("BENCH_SENTENCES")
if file then
  sentences = {}
  for line in io.lines(file) do
    if line ~= "" then sentences[#sentences + 1] = line end
  end
end
local i = 0
local field = os.getenv("BENCH_FIELD") or "text"
local extra = os.getenv("BENCH_EXTRA")
local suffix = extra and (", " .. extra) or ""

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  i = i % #sentences + 1
  return wrk.format(nil, nil, nil, '{"' .. field .. '": "' .. sentences[i] .. '"' .. suffix .. '}')
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "seconds": %.3f, "rps": %.2f, "non_2xx": %d, ' ..
    '"socket_errors": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, ' ..
    '"mean_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, seconds, summary.requests / seconds, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000))
end
