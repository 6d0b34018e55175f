/**
 * Renders a pod's status the way the kubelet reports it (phase, conditions, container statuses)
 * from the fake kubelet's model of the pod, keeping a condition's lastTransitionTime while its
 * status does not change.
 */
import { now } from './object-store.ts';
import type {
  Condition,
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodStatus,
} from './pod-types.ts';

export interface ContainerModel {
  name: string;
  image: string;
  state: ContainerState;
  containerID?: string;
}
export interface PodModel {
  /** False until bound to the node. */
  scheduled: boolean;
  /** The FailedScheduling message while the pod does not fit. */
  unschedulable?: string;
  sandboxReady: boolean;
  init: ContainerModel[];
  main: ContainerModel[];
  startTime?: string;
  evicted?: string;
  qosClass?: string;
}

/** A new pod: not scheduled, every container waiting. */
export function initialModel(pod: Pod): PodModel {
  const containers = (list: Container[] | undefined, waiting: string): ContainerModel[] =>
    (list ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      state: { waiting: { reason: waiting } },
    }));
  const hasInit = (pod.spec.initContainers ?? []).length > 0;
  return {
    scheduled: false,
    sandboxReady: false,
    init: containers(pod.spec.initContainers, 'PodInitializing'),
    main: containers(pod.spec.containers, hasInit ? 'PodInitializing' : 'ContainerCreating'),
    qosClass: pod.status?.qosClass,
  };
}

const done = (c: ContainerModel): boolean => c.state.terminated !== undefined;
const ok = (c: ContainerModel): boolean => c.state.terminated?.exitCode === 0;

export function podPhase(m: PodModel): PodStatus['phase'] {
  if (m.evicted) return 'Failed';
  if (m.init.some((c) => done(c) && !ok(c))) return 'Failed';
  if (m.main.length > 0 && m.main.every(done)) return m.main.every(ok) ? 'Succeeded' : 'Failed';
  if (m.main.some((c) => c.state.running || done(c))) return 'Running';
  return 'Pending';
}

export function renderPodStatus(m: PodModel, previous: PodStatus | undefined): PodStatus {
  const phase = podPhase(m);
  const old = new Map((previous?.conditions ?? []).map((c) => [c.type, c]));
  const cond = (type: string, status: boolean, reason?: string, message?: string): Condition => {
    const s = status ? 'True' : 'False';
    const prev = old.get(type);
    return {
      type,
      status: s,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      lastProbeTime: null,
      lastTransitionTime: prev?.status === s ? prev.lastTransitionTime : now(),
    };
  };
  const status: PodStatus = { phase, qosClass: m.qosClass ?? 'BestEffort' };
  if (!m.scheduled) {
    status.conditions = [cond('PodScheduled', false, 'Unschedulable', m.unschedulable)];
    return status;
  }
  const finished = phase === 'Succeeded' || phase === 'Failed';
  const initDone = m.init.every(ok);
  const unready = m.main.filter((c) => !c.state.running).map((c) => c.name);
  const ready = unready.length === 0 && !finished;
  const notReady = finished ? 'PodCompleted' : 'ContainersNotReady';
  const notReadyMsg = finished
    ? undefined
    : `containers with unready status: [${unready.join(' ')}]`;
  status.conditions = [
    ...(m.evicted ? [cond('DisruptionTarget', true, 'TerminationByKubelet', m.evicted)] : []),
    cond('PodReadyToStartContainers', m.sandboxReady && !finished),
    cond(
      'Initialized',
      initDone,
      initDone ? undefined : 'ContainersNotInitialized',
      initDone
        ? undefined
        : `containers with incomplete status: [${m.init
            .filter((c) => !ok(c))
            .map((c) => c.name)
            .join(' ')}]`,
    ),
    cond('Ready', ready, ready ? undefined : notReady, ready ? undefined : notReadyMsg),
    cond('ContainersReady', ready, ready ? undefined : notReady, ready ? undefined : notReadyMsg),
    cond('PodScheduled', true),
  ];
  status.hostIP = '127.0.0.1';
  status.hostIPs = [{ ip: '127.0.0.1' }];
  if (m.sandboxReady) {
    status.podIP = '127.0.0.1';
    status.podIPs = [{ ip: '127.0.0.1' }];
  }
  if (m.startTime) status.startTime = m.startTime;
  if (m.init.length > 0) status.initContainerStatuses = m.init.map(containerStatus);
  status.containerStatuses = m.main.map(containerStatus);
  if (m.evicted) {
    status.reason = 'Evicted';
    status.message = m.evicted;
  }
  return status;
}

function containerStatus(c: ContainerModel): ContainerStatus {
  const pulled =
    c.state.waiting?.reason !== 'ErrImagePull' &&
    c.state.waiting?.reason !== 'ImagePullBackOff' &&
    c.state.waiting?.reason !== 'InvalidImageName';
  return {
    name: c.name,
    image: c.image,
    imageID:
      pulled && c.containerID
        ? `docker.io/library/${c.image.split(':')[0] ?? c.image}@sha256:${'0'.repeat(64)}`
        : '',
    ready: c.state.running !== undefined,
    started: c.state.running !== undefined,
    restartCount: 0,
    state: c.state,
    lastState: {},
    ...(c.containerID ? { containerID: c.containerID } : {}),
  };
}
