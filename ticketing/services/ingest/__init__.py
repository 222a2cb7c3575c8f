"""The ingest pipeline: raw payloads become customers, tickets and messages.

Modules, each importing only those below it (an import-linter contract keeps it so):

* ``run`` — the entry points: live (``store_and_process``), bulk (``ingest_chunks``), worker
  (``run_pending``, ``process_ids``); they own the transactions;
* ``pipeline`` — ``prepare`` (the pure half) and ``STEPS`` over one ``Batch``;
* the steps' decisions: ``customers`` (who wrote it), ``tickets`` (which ticket), ``incidents``
  (near-identical complaints of other citizens), ``route`` (team, language, auto-assignment,
  through the routing use cases with plain data);
* ``batch`` — what a batch has read and will write, and the write;
* ``policy`` — what the composition root wires in; ``acknowledge`` — the acknowledgement step
  and its policy; ``work`` — per-payload data; ``evidence`` — identifiers and topic of a message.
"""

from __future__ import annotations

from ticketing.services.ingest.acknowledge import AckPolicy
from ticketing.services.ingest.evidence import Evidence, EvidencePolicy, gather
from ticketing.services.ingest.pipeline import STEPS, prepare, process_claimed, step_write
from ticketing.services.ingest.policy import (NORMALIZED_JSON, IngestPolicy, Parser,
                                              parse_normalized_bytes)
from ticketing.services.ingest.run import (PrepareAsync, as_claimed, ingest_chunks, process_ids,
                                           run_pending, store_and_process, unstored)
from ticketing.services.ingest.work import Outcome, Prepared, Work

__all__ = ["NORMALIZED_JSON", "STEPS", "AckPolicy", "Evidence", "EvidencePolicy",
           "IngestPolicy", "Outcome", "Parser", "PrepareAsync", "Prepared", "Work", "as_claimed",
           "gather", "ingest_chunks", "parse_normalized_bytes", "prepare", "process_claimed",
           "process_ids", "run_pending", "step_write", "store_and_process", "unstored"]
