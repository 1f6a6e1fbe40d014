"""`inferd enrich --pipeline P in.ndjson [-o out.ndjson]`: NDJSON documents through an ingest pipeline, enriched
documents out (one line each, in order), ready for `_bulk`.

The input is read and sent a batch of lines at a time (`--batch-lines`) to the server's streaming enrich route,
whose answer is written as it comes; nothing holds more than one batch, whatever the corpus. The server waits on
a full deployment queue rather than refusing (back-pressure), so there are no 429 storms to retry. With `-o`
the job resumes: the lines the output already holds are not sent again (a partly written last line is cut off),
so a job killed in the middle and run again finishes without duplicates. A document the pipeline fails stops the
job (exit 1) after every line before it is written, so a rerun starts at it; `--keep-failed` writes it with its
error under `_ingest_failure` and goes on.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from inferd.cli.credentials import DEFAULT_URL, ApiKeyOption, CaCertsOption, DataDirOption, UrlOption, resolve_api_key
from inferd.cli.output import err

DEFAULT_BATCH_LINES = 512


def complete_lines(path: Path) -> int:
    """How many whole lines `path` holds, after cutting off a last line a killed run left half written."""
    if not path.exists():
        return 0
    with path.open("rb+") as file:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        if size == 0:
            return 0
        file.seek(-1, os.SEEK_END)
        if file.read(1) != b"\n":  # cut back to the last newline
            position = size
            block = 64 * 1024
            while position > 0:
                start = max(0, position - block)
                file.seek(start)
                chunk = file.read(position - start)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    file.truncate(start + newline + 1)
                    break
                position = start
            else:
                file.truncate(0)
        file.seek(0)
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))


def batches(lines: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for line in lines:
        if not line.strip():
            continue
        batch.append(line if line.endswith(b"\n") else line + b"\n")
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _documents(path: Path, skip: int) -> Iterator[bytes]:
    with path.open("rb") as file:
        seen = 0
        for line in file:
            if not line.strip():
                continue
            seen += 1
            if seen > skip:
                yield line


def _count_documents(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for line in file if line.strip())


class EnrichFailed(Exception):
    def __init__(self, line: int, error: dict[str, Any]) -> None:
        super().__init__(f"document {line}: {error.get('reason') or error}")


def write_answers(answer: httpx.Response, batch: list[bytes], out: IO[bytes], first_line: int,
                  keep_failed: bool) -> int:
    """Write the enriched documents of one batch as they arrive; the number written."""
    written = 0
    for raw in answer.iter_lines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        if "doc" in line:
            out.write(json.dumps(line["doc"], ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        elif keep_failed:
            document = json.loads(batch[written]) if batch[written].strip() else {}
            document = document if isinstance(document, dict) else {"_line": document}
            document["_ingest_failure"] = line["error"]
            out.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        else:
            out.flush()
            raise EnrichFailed(first_line + written, line["error"])
        written += 1
    out.flush()
    return written


def enrich(
    input_path: Annotated[Path, typer.Argument(metavar="IN.ndjson", exists=True, dir_okay=False, readable=True,
                                               help="One JSON document per line.")],
    pipeline: Annotated[str, typer.Option("--pipeline", "-p", help="The ingest pipeline to run.",
                                          show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", dir_okay=False, help="Write here (resumable) instead of stdout.",
        show_default="stdout")] = None,
    batch_lines: Annotated[int, typer.Option(min=1, max=100_000, help="Lines per request to the server.")]
    = DEFAULT_BATCH_LINES,
    batch_size: Annotated[int, typer.Option(min=1, max=1024, help="Documents the server runs through the "
                                            "pipeline together (one _infer each).")] = 16,
    keep_failed: Annotated[bool, typer.Option(help="Write a failed document with `_ingest_failure` and go on.")]
    = False,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Enrich NDJSON documents with an ingest pipeline (its inference processors run on inferd's deployments)."""
    key = resolve_api_key(url, api_key, data_dir)
    headers = {"Content-Type": "application/x-ndjson"} | ({"Authorization": f"ApiKey {key}"} if key else {})
    done = complete_lines(output) if output is not None else 0
    total = _count_documents(input_path)
    path = f"/_inferd/ingest/pipeline/{quote(pipeline, safe='')}/_enrich"
    verify: bool | str = str(ca_certs) if ca_certs is not None else True
    out = output.open("ab") if output is not None else sys.stdout.buffer
    progress = Progress(TextColumn("enrich"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, transient=False, disable=not err.is_terminal)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(600.0, connect=10.0),
                          verify=verify) as client, progress:
            task = progress.add_task("enrich", total=total, completed=done)
            line = done + 1
            for batch in batches(_documents(input_path, done), batch_lines):
                with client.stream("POST", path, content=b"".join(batch),
                                   params={"batch_size": batch_size}) as answer:
                    if answer.status_code != 200:
                        answer.read()
                        reason = answer.json().get("error", {}).get("reason", answer.text) if answer.content else ""
                        err.print(f"[red]error:[/] the server answered {answer.status_code}: {escape(str(reason))}")
                        raise typer.Exit(1)
                    written = write_answers(answer, batch, out, line, keep_failed)
                line += written
                progress.update(task, advance=written)
    except EnrichFailed as failure:
        err.print(f"[red]error:[/] {escape(str(failure))}; the documents before it are written, and a rerun with "
                  "the same --output starts at it")
        raise typer.Exit(1) from None
    except httpx.HTTPError as error:
        err.print(f"[red]error:[/] cannot reach the server: {escape(str(error))}")
        raise typer.Exit(1) from None
    finally:
        if output is not None:
            out.close()
    err.print(f"[green]✓[/] {total} documents enriched with pipeline {escape(pipeline)}" +
              (f" into {escape(str(output))}" if output is not None else ""))
