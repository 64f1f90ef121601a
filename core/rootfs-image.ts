/**
 * The checks of a task's root filesystem image (`container.rootfs`) that need no I/O, made by the
 * master at ACCEPT and by the agent (which trusts no wire) before it fetches anything.
 */
import type { RootfsImage } from '../proto/gen/galaxy/v1/common.js';

const SHA256 = /^[0-9a-f]{64}$/;
/** Longest image URL accepted. */
export const MAX_IMAGE_URL = 2048;

/** Why `image` is malformed, or undefined when it is well-formed. */
export function imageDenial(image: RootfsImage): string | undefined {
  if (!SHA256.test(image.sha256.toLowerCase())) return 'sha256 must be 64 hex digits';
  if (image.source.length > MAX_IMAGE_URL) return `the url is longer than ${MAX_IMAGE_URL} characters`;
  if (image.source.includes('\0')) return 'the url contains a NUL byte';
  if (!/^(file:\/\/\/|https?:\/\/)/.test(image.source))
    return 'the url must be file:///… (on the agent) or http(s)://…';
  return undefined;
}
