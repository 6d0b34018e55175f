/**
 * A steward run's notes, kept when its attempt ends: read back from the workspace (notes-file.ts),
 * redacted like any output, and stored as the steward's next version, written by this job. Every
 * attempt keeps what it left, a failed one too: what a run learnt is worth more than its result.
 */
import type { JobSettings } from '../domain/job.ts';
import type { StewardStore } from '../ports/steward-store.ts';
import { takeNotes } from './notes-file.ts';

export interface KeepNotesDeps {
  store: Pick<StewardStore, 'getNotes' | 'saveNotes'>;
  redact: (text: string) => string;
}

/** Keeps the notes the agent left in `workspace`; returns a line for the attempt's output. */
export async function keepNotes(
  deps: KeepNotesDeps,
  jobId: string,
  notes: NonNullable<JobSettings['notes']>,
  workspace: string,
): Promise<string> {
  const taken = await takeNotes(workspace, notes.max_bytes);
  if (taken.kind === 'missing')
    return 'the agent removed its notes file; the steward keeps its earlier notes';
  if (taken.kind === 'refused') return `${taken.why}; the steward keeps its earlier notes`;
  const text = deps.redact(
    taken.cut
      ? `${taken.text}\n\n(Forge cut these notes at ${notes.max_bytes} bytes, the steward's notes_max_bytes.)\n`
      : taken.text,
  );
  for (;;) {
    const latest = await deps.store.getNotes(notes.steward);
    if (latest?.text === text) return 'notes unchanged';
    const saved = await deps.store.saveNotes(
      notes.steward,
      { text, by: `job:${jobId}`, job_id: jobId },
      latest?.version ?? 0,
    );
    if (saved)
      return `notes kept as version ${saved.version} (${Buffer.byteLength(text)} bytes${taken.cut ? ', cut' : ''})`;
  }
}
