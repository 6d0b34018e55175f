/** The parts of the agent-sandbox v1beta1 objects the fake controller reads and writes. */
import type { KubeObject } from '../resources.ts';
import type { PodSpec } from '../pod-types.ts';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface SandboxTemplate extends KubeObject {
  spec: { podTemplate: PodTemplate };
}

export interface SandboxWarmPool extends KubeObject {
  spec: { replicas?: number; sandboxTemplateRef: { name: string } };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    selector?: string;
    observedGeneration?: number;
  };
}

export interface Sandbox extends KubeObject {
  spec: { podTemplate: PodTemplate; [field: string]: unknown };
  status?: { conditions?: Condition[]; podIPs?: string[]; selector?: string; nodeName?: string };
}

export type ShutdownPolicy = 'Delete' | 'DeleteForeground' | 'Retain';

export interface SandboxClaim extends KubeObject {
  spec: {
    warmPoolRef: { name: string };
    lifecycle?: { shutdownPolicy?: ShutdownPolicy; shutdownTime?: string };
  };
  status?: { conditions?: Condition[]; sandbox?: { name?: string; podIPs?: string[] } };
}
