/** The claim's record of the Sandbox it adopted, as the real controller keeps it. */
import type { ControllerContext } from './context.ts';
import { ASSIGNED_SANDBOX_ANNOTATION } from './names.ts';
import { SANDBOX_CLAIMS } from './resources.ts';
import type { SandboxClaim } from './types.ts';

/** As the real controller, the claim records its Sandbox in an annotation before adoption completes. */
export function recordAssignment(
  ctx: ControllerContext,
  claim: SandboxClaim,
  sandbox: string,
): void {
  if (claim.metadata.annotations?.[ASSIGNED_SANDBOX_ANNOTATION] === sandbox) return;
  const { namespace = 'default', name } = claim.metadata;
  ctx.store.mutate(SANDBOX_CLAIMS, namespace, name, (o) => {
    o.metadata.annotations = { ...o.metadata.annotations, [ASSIGNED_SANDBOX_ANNOTATION]: sandbox };
  });
}
