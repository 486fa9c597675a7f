// Filesystem errors in words: the code, what it means, and (from the caller) the path and what was kept.

const MEANING: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a component of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  ENOENT: 'no such file or folder',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
};

/** The `code` of a Node fs error (EROFS, ENOSPC, ...), or undefined. */
export function fsErrorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** 'EROFS: read-only file system' for a fs error; the message of anything else. */
export function explainFsError(e: unknown): string {
  const code = fsErrorCode(e);
  if (code !== undefined) return MEANING[code] ? `${code}: ${MEANING[code]}` : code;
  return e instanceof Error ? e.message : String(e);
}
