const CONNECTION = `Connection (every command):
  --url URL        the edge's base URL        (default: $COMFY_EDGE_URL)
  --key KEY        your API key               (default: $COMFY_EDGE_API_KEY)
  --json           one JSON object on stdout instead of text`;

export const RUN_USAGE = `Usage: comfy-gen run --prompt TEXT [options]
       comfy-gen run --graph FILE [options]

Submits a job, shows its progress live, downloads every output and prints the paths.

  --workflow ID        workflow to run (default: flux_default; see comfy-gen list)
  --prompt TEXT        the prompt (params.prompt)
  --set NAME=VALUE     any parameter; VALUE is read as JSON when it parses (4, true, 0.5), else as text; repeatable
  --lora NAME          a LoRA from comfy-gen list (params.lora)
  --seed N|random      the noise seed (params.seed)
  --image PATH         upload this image first and pass it as the image parameter
  --image-param NAME   which parameter takes --image (default: input_image)
  --format png|webp|jpeg  output format (default: png)
  --quality 1-100      webp/jpeg quality (default: 90)
  --priority N         -100..100, higher runs first (default: 0; negative: --priority=-5)
  --out DIR            where to save the outputs (default: .)
  --timeout SECONDS    give up (and cancel the job) after this long
  --poll-interval SECONDS  polling period if the events feed is unavailable (default: 1)
  --graph FILE         run this ComfyUI API-format graph ("Export (API)") as it is, instead of a workflow;
                       the key needs "raw": true (or admin); not with --workflow, --prompt, --set, --lora, --seed, --image

${CONNECTION}

Examples:
  comfy-gen run --workflow flux_default --prompt "a red fox" --set steps=4 --seed 42 --out ./images
  comfy-gen run --graph prompt.json --format webp --out ./images`;

export const LIST_USAGE = `Usage: comfy-gen list [--json]

Lists the workflows (with their required parameters) and the LoRAs (with the trigger words they add).

${CONNECTION}`;

export const STATUS_USAGE = `Usage: comfy-gen status <task_id> [--json]

Shows a task: status, progress, timings, error and outputs (--json: the full task view with download links).

${CONNECTION}`;

export const JOBS_USAGE = `Usage: comfy-gen jobs [--status S[,S...]] [--workflow ID] [--limit N] [--cursor C] [--json]

Lists your jobs, newest first: id, status, workflow, created, run time and error.
  --status S     PENDING, PROGRESS, SUCCESS, FAILURE or CANCELLED (several comma-separated)
  --workflow ID  only this workflow's jobs
  --limit N      jobs per page, 1-100 (default 20)
  --cursor C     the next page (the cursor the previous page printed)

${CONNECTION}`;

export const CANCEL_USAGE = `Usage: comfy-gen cancel <task_id> [--json]

Cancels a queued or running task.

${CONNECTION}`;

export const MAIN_USAGE = `Usage: comfy-gen <command> [options]

Commands:
  run       submit a job, follow it live, download the outputs
  list      list workflows and LoRAs
  status    show one task
  jobs      list your jobs, newest first
  cancel    cancel a task

Run "comfy-gen <command> --help" for a command's options.

${CONNECTION}

Exit codes:
  0    success
  1    the job failed or was cancelled
  2    usage, validation or request error
  3    authentication error (missing, invalid or under-privileged key)
  4    timed out (--timeout)
  130  interrupted (Ctrl-C; a running job is cancelled first)`;
