/**
 * The use cases every door beyond HTTP shares (issue intake, chat, and later MCP): one object, so
 * each door files, cancels and retries jobs exactly as the API does, under the same rules.
 */
import type { Job, JobOrigin, JobRecord, JobSettings } from '../domain/job.ts';
import type { ListFilter } from '../ports/store.ts';
import { followUpJob } from './follow-up.ts';
import { cancelJob, retryJob } from './job-actions.ts';
import { parseSubmitRequest, resolveSpec, type SubmitDeps } from './submit-job.ts';

export interface SubmitContext {
  /** Where the task came from; results are reported there. */
  origin?: JobOrigin | null;
  /** The job this one continues: the new job works on its branch, from its last pushed commit. */
  parent?: Job | null;
  /** An idempotency key: the same key files one job however often it is given. */
  key?: string;
  /** A steward's run keeps notes (see JobSettings.notes). */
  notes?: JobSettings['notes'];
}

export interface JobControl {
  /** Validates like POST /jobs (throws ForgeError('invalid_request') naming the field). */
  submit(body: unknown, context?: SubmitContext): Promise<Job>;
  /** Throws ForgeError('not_found') or ('conflict') as the API answers. */
  cancel(id: string, reason?: string): Promise<JobRecord>;
  retry(id: string): Promise<JobRecord>;
  /** A follow-up of a finished job (core/follow-up.ts); `key` makes a repeat file nothing new. */
  followUp(id: string, body: unknown, key?: string, from?: string): Promise<Job>;
  get(id: string): Promise<JobRecord | null>;
  list(filter: ListFilter): Promise<{ jobs: Job[]; total: number }>;
}

export function createJobControl(deps: SubmitDeps): JobControl {
  return {
    async submit(body, context = {}) {
      const spec = resolveSpec(parseSubmitRequest(body), deps.config);
      spec.origin = context.origin ?? null;
      const parent = context.parent ?? null;
      if (parent) {
        spec.parent_id = parent.id;
        if (spec.repo && parent.repo?.url === spec.repo.url && parent.result?.commit) {
          spec.repo = {
            ...spec.repo,
            branch: parent.result.branch,
            start_commit: parent.result.commit,
          };
        }
      }
      if (context.notes) spec.settings.notes = context.notes;
      const { job, created } = await deps.store.create(spec, context.key);
      if (created) deps.bus.publish({ type: 'job.created', jobId: job.id });
      return job;
    },
    cancel: (id, reason) => cancelJob(deps, id, reason),
    retry: (id) => retryJob(deps, id),
    followUp: (id, body, key, from) => followUpJob(deps, id, body, key, from),
    get: (id) => deps.store.get(id),
    list: (filter) => deps.store.list(filter),
  };
}
