/** The part of a SandboxTemplate's spec a Sandbox copies (the real SandboxBlueprint). */
import type { SandboxTemplate } from './types.ts';

const BLUEPRINT = ['podTemplate', 'service', 'volumeClaimTemplates'] as const;

export function blueprintOf(template: SandboxTemplate): Record<string, unknown> {
  const spec = template.spec as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of BLUEPRINT) if (spec[key] !== undefined) out[key] = structuredClone(spec[key]);
  return out;
}
