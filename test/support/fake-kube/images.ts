/** The node's images: what the fake can "pull", and the kubelet's words when it cannot. */

export interface ImageSpec {
  /** The image's ENV (e.g. a PATH that finds `forge`); pod env overrides it. */
  env?: Record<string, string>;
  /** The image's ENTRYPOINT and CMD, used when the container sets no command/args. */
  entrypoint?: string[];
  cmd?: string[];
}

// A docker reference: optional registry host[:port]/, lowercase path components, :tag, @digest.
const REFERENCE =
  /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** The InvalidImageName message, or null for a well-formed reference. */
export function invalidImageMessage(image: string): string | null {
  if (REFERENCE.test(image)) return null;
  return `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format`;
}

/** containerd's answer for an image the registry does not have (the ErrImagePull message). */
export function pullError(image: string): string {
  const ref = image.includes('/') ? image : `docker.io/library/${image}`;
  const full = /:[^/]+$/.test(ref) ? ref : `${ref}:latest`;
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${full}": failed to resolve reference "${full}": ${full}: not found`;
}
