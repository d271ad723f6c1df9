package capacity

// reportTemplate is docs/capacity.md; every figure in it comes from the run.
const reportTemplate = `# Capacity plan

This file and the plots in [capacity/](capacity/) are written by ` + "`make bench`" + `
(package ` + "`capacity/`" + `); do not edit them by hand. This run: {{.Date.Format "2006-01-02 15:04 MST"}}, {{printf "%.0f" .Took.Minutes}} minutes.

## How to reproduce

` + "```sh\nmake bench   # writes docs/capacity.md and docs/capacity/*.svg; stops by itself\n```" + `

It starts the whole system as processes on 127.0.0.1, as ` + "`make run`" + ` does
(PostgreSQL, the Temporal dev server, the ` + "`anb-broker`" + ` Kafka stand-in, versitygw for
S3, then ` + "`anb api`" + `, ` + "`anb bridge`" + ` and ` + "`anb worker`" + ` processes), runs scenario 2 and then
scenario 1 against it, and stops everything. The load generator is the test process
itself (plain ` + "`net/http`" + ` goroutines), on the same cores as the system it measures.

## The machine

| | |
|---|---|
| CPU | {{.Machine.CPU}}, {{.Machine.Cores}} logical cores |
| memory | {{f1 .Machine.MemoryGB}} GiB |
| Go | {{.Machine.Go}} |
| ffmpeg | {{.Machine.FFmpeg}} |
| PostgreSQL | {{.Machine.Postgres}} |

One machine runs everything here: the API, the bridge, the workers, PostgreSQL,
Temporal, the broker, S3 and the load generator share its {{.Machine.Cores}} cores. The machine
is shared with other work, so runs vary; compare figures within one run.

{{with .Web}}## Scenario 1: the web tier

**Setup.** One ` + "`anb api`" + ` and one ` + "`anb bridge`" + ` (no worker: the uploads' workflows wait
in Temporal, so ffmpeg takes no CPU from the web tier). Seeded: {{.Videos}} published videos of
{{.Players}} players (rows written straight to PostgreSQL) and {{.Accounts}} voter accounts signed up
through the API. Every virtual user loops one visit: the gallery
(` + "`GET /api/public/videos?limit=20`" + `, signed in), the ranking
(` + "`GET /api/public/rankings`" + `), a vote
(` + "`POST /api/public/videos/{id}/vote`" + `), before the vote a login (` + "`POST /api/auth/login`" + `, bcrypt
cost {{.BcryptCost}}) when its account has no session yet and then once every {{.LoginEvery}} visits, from a
random visit on (a session's token lasts an hour, so a person signs in once and then browses
and votes; sessions outlive a step) and, every {{.UploadEvery}}th visit, an upload
(` + "`POST /api/videos/upload`" + `, a {{kb .UploadBytes}} kB MP4: 1920x1080, 21 s, 2 fps, which passes
the API's checks), pausing {{secs .Think}} s on average (uniform from half to one and a half
times) between requests, as a person clicking does. Users share the accounts round-robin; each
account votes for the seeded videos in turn, and once it has voted for all of them the
contract's 400 ` + "`already_voted`" + ` is the expected answer (counted as *repeat votes*, not as
errors). Errors are transport errors, timeouts (10 s), 429s, 5xx and any other status
the contract does not give. Each step holds its users for {{secs .Hold}} s; the first {{secs .Skip}} s,
while users start, are not measured. The ramp stops after the first step whose p95 passes
{{ms .P95Limit}} ms or whose errors pass {{f1 .MaxErrors}} %.

**Rate limits.** All load comes from one address (127.0.0.1) and {{.Accounts}} accounts, so the
limits meant for one person or one script would answer 429 to the whole test. The API ran with:

{{range .Limits}}- ` + "`{{.}}`" + `
{{end}}
The per-account and per-address limits that count *successes* (uploads, votes, signups)
are off (0, their documented "off"); the failed-login limits stay at their defaults (no
login fails here). bcrypt keeps its production settings: cost {{.BcryptCost}}, as many hashes at
once as cores (` + "`ANB_HASH_CONCURRENCY=0`" + `), a login waits up to 2 s for a slot
(` + "`ANB_HASH_WAIT`" + `) before a 429. Measured in the test process before the ramp, bcrypt at
cost {{.BcryptCost}} does **{{f1 .HashRate}} hashes/s** on all cores.

| users | requests/s | p50 ms | p95 ms | p99 ms | errors % | repeat votes |
|---|---|---|---|---|---|---|
{{range .Steps}}| {{.Users}} | {{f1 .Rate}} | {{f1 (ms .All.P50)}} | {{f1 (ms .All.P95)}} | {{f1 (ms .All.P99)}} | {{f2 .ErrorRate}} | {{.Repeated}} |
{{end}}
CPU during each step, in percent of one core ({{mul (fl $.Machine.Cores) 100}} % is the whole machine), read
from ` + "`/proc`" + ` (PostgreSQL with its backends; *other* is the rest of the machine's busy time):

| users | machine |{{range cpuparts}} {{.}} |{{end}}
|---|---|{{range cpuparts}}---|{{end}}
| no load, before the ramp | {{printf "%.0f" .Idle.Machine}} |{{range $p := cpuparts}} {{printf "%.0f" (index $.Web.Idle.Parts $p)}} |{{end}}
{{range $s := .Steps}}| {{$s.Users}} | {{printf "%.0f" $s.CPU.Machine}} |{{range $p := cpuparts}} {{printf "%.0f" (index $s.CPU.Parts $p)}} |{{end}}
{{end}}
p95 per endpoint, ms (requests in the window):

| users |{{range endpoints}} {{.}} |{{end}}
|---|{{range endpoints}}---|{{end}}
{{range $s := .Steps}}| {{$s.Users}} |{{range $e := endpoints}}{{with index $s.ByPath $e}} {{f1 (ms .P95)}} ({{.Count}}{{if .Errors}}, {{.Errors}} errors{{end}}) |{{end}}{{end}}
{{end}}
![Throughput against users](capacity/web-throughput.svg)

![p95 against users](capacity/web-p95.svg)

{{with .Best}}**Highest rate with p95 <= 1 s: {{f1 .Rate}} requests/s**, at {{.Users}} users (p95 {{f1 (ms .All.P95)}} ms, errors {{f2 .ErrorRate}} %).{{else}}No step kept p95 within 1 s.{{end}}
{{with .Broke}}It broke at **{{.Users}} users**: {{f1 .Rate}} requests/s, p95 {{f1 (ms .All.P95)}} ms, errors {{f2 .ErrorRate}} %; the login's p95 was {{f1 (ms (index .ByPath "POST /api/auth/login").P95)}} ms against {{f1 (ms (index .ByPath "GET /api/public/videos").P95)}} ms for the gallery.{{else}}The ramp held to its last step.{{end}}

**What bounds it.** The flow makes one login in {{f1 .RequestsPerLogin}} requests, and a login is one
bcrypt hash at cost {{.BcryptCost}}: {{f1 .HashRate}} hashes/s on this machine's cores with nothing else
running (best of three rounds, measured in the test process before the ramp), so bcrypt alone
would hold this flow near {{printf "%.0f" (mul .HashRate .RequestsPerLogin)}} requests/s with every core given to it. {{with .Broke}}At the
step that broke the machine was {{printf "%.0f" .CPU.Machine}} % busy ({{.CPUByUse}}), the API answered
{{f1 .LoginRate}} logins/s, and the slowest endpoint was {{.Slowest}}.{{end}} With the cores full every
request waits for CPU; a login that waits longer than ` + "`ANB_HASH_WAIT`" + ` for a bcrypt slot
(` + "`ANB_HASH_CONCURRENCY`" + `) is answered 429. The overall p95 passes 1 s once more than 5 % of all
requests take longer (the table per endpoint separates them). ` + "`make bench-api`" + ` in the README measures the
cached reads alone. More API instances, or more cores per instance, raise the bound
in proportion; a lower bcrypt cost would too, at the expense of the passwords' protection
(SPEC: cost >= 10).
{{end}}
## Scenario 2: the worker

**Setup.** Two inputs, generated once per run with ffmpeg: {{range $i, $in := .Inputs}}{{if $i}}, and {{end}}{{$in}}{{end}}. The
burst of {{with index .Workers 0}}{{.Videos}}{{end}} videos alternates them and is uploaded through the API (one player, sequentially) while the
workers run; the bridge starts one ` + "`VideoProcessing`" + ` workflow per upload. The queue depth is
sampled from PostgreSQL every 2 s: the burst's videos still ` + "`uploaded`" + ` (waiting) or
` + "`processing`" + `. *Videos/min* is the burst's size over the time from its first upload to its
last video processed.

| setting | worker processes | ANB_WORKER_CONCURRENCY | ANB_FFMPEG_THREADS | videos | MB uploaded | uploads took s | burst took s | videos/min | CPU % machine / workers | worker CPU s per video |
|---|---|---|---|---|---|---|---|---|---|---|
{{range .Workers}}| {{.Label}} | {{.Workers}} | {{.Concurrency}} | {{.Threads}} | {{.Videos}} | {{mb .Bytes}} | {{secs .Uploading}} | {{secs .Elapsed}} | **{{f2 .PerMinute}}** | {{printf "%.0f" .MachineCPU}} / {{printf "%.0f" .WorkersCPU}} | {{f1 .CPUPerVideo}} |
{{end}}
CPU over the burst in percent of one core ({{mul (fl $.Machine.Cores) 100}} % is the whole machine); *workers* is
the worker processes with their ffmpeg runs. The rest of the API, PostgreSQL, Temporal and S3
run on the same cores meanwhile. On a machine shared with other work, videos/min moves with
what else runs; the workers' CPU seconds per video move much less within a day, though a host
whose cores are contended stretches them too: compare code by alternating runs on one day.

![Queue depth against time](capacity/worker-queue.svg)

## Beside the peers' figures

| | peers (published) | here |
|---|---|---|
| web tier, highest rate at p95 <= 1 s | {{index peers "low"}} to {{index peers "high"}} requests/s on three 2-vCPU instances of the web tier | {{with .Web.Best}}{{f1 .Rate}} requests/s{{else}}none{{end}} on one {{.Machine.Cores}}-core machine running everything, the load generator included |
| workers | {{index peers "worker"}} videos/min per instance | {{range $i, $w := .Workers}}{{if $i}}; {{end}}{{f2 $w.PerMinute}} videos/min with {{$w.Label}}{{end}} |

How to read it: in the design of SPEC §6 the web tier's instances run only the API
({{index peers "vcpus"}} vCPUs for the peers' figure), with PostgreSQL (RDS), S3 and Kafka as managed
services and the load generator elsewhere; here {{.Machine.Cores}} cores carry all of it, and our flow makes one login (bcrypt cost {{.Web.BcryptCost}}) in {{f1 .Web.RequestsPerLogin}} requests, which
by itself holds this machine near {{printf "%.0f" (mul .Web.HashRate .Web.RequestsPerLogin)}} requests/s. Per
core of API the peers' figure is {{printf "%.0f" (div (index peers "low") (index peers "vcpus"))}} to {{printf "%.0f" (div (index peers "high") (index peers "vcpus"))}} requests/s{{with .Web.Best}}, ours {{printf "%.0f" (div .Rate (fl $.Machine.Cores))}} per core of the whole machine{{end}};
scaling ours out means more API instances behind the balancer (` + "`make run-cluster`" + `), with
PostgreSQL, Temporal and S3 on their own machines. The worker figures are per machine with
the same cores also running the API, PostgreSQL, Temporal and S3 during the burst.{{if eq (len .Workers) 2}}
A second worker process on the same {{.Machine.Cores}} cores gave {{f2 .WorkerGain}}x the
throughput of one{{with index .Workers 0}}, where one worker and its ffmpeg already used {{printf "%.0f" .WorkersCPU}} % of the
machine's {{mul (fl $.Machine.Cores) 100}} %{{end}}. {{if lt .WorkerGain 1.25}}What scales the worker tier is more worker instances (one
per 2 cores, as the peers count per instance), not more processes per machine.{{else}}Two processes per machine
helped here; beyond the machine's cores, more worker instances (as the peers count per instance) scale it.{{end}}{{end}}
`
