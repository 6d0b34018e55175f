/** The node's images: what the fake can "pull", and the kubelet's words when it cannot. */
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface ImageSpec {
  /** The image's ENV (e.g. a PATH that finds `forge`); pod env overrides it. */
  env?: Record<string, string>;
  /** The image's ENTRYPOINT and CMD, used when the container sets no command/args. */
  entrypoint?: string[];
  cmd?: string[];
  /**
   * Executables the image has on its PATH, by command name, as host files (e.g.
   * `{ forge: '<repo>/bin/forge.js' }`): linked into a directory put first on the image's PATH.
   */
  bin?: Record<string, string>;
}

/** The image's ENV, with its `bin` directory (made under `root`) first on PATH. */
export async function imageEnvironment(
  root: string,
  ref: string,
  image: ImageSpec,
): Promise<Record<string, string>> {
  const env = { ...image.env };
  if (!image.bin) return env;
  const dir = join(root, 'images', ref.replace(/[^\w.-]/g, '_'), 'bin');
  await mkdir(dir, { recursive: true });
  for (const [name, target] of Object.entries(image.bin)) {
    await symlink(target, join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  env.PATH = env.PATH ? `${dir}:${env.PATH}` : dir;
  return env;
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
