/**
 * File helpers: read with I/O errors mapped to `ERR_IO`, and atomic writes
 * (temp file in the same directory, fsync, rename) with mode 0600 for
 * anything that may hold keys.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { CliError, ioError, usageError } from './errors.ts';

/** Reads a file as UTF-8, refusing more than `maxBytes`. */
export async function readText(file: string, what: string, maxBytes = 16 * 1024 * 1024): Promise<string> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const st = await handle.stat();
    if (!st.isFile()) throw ioError(`${what} ${file} is not a regular file`);
    if (st.size > maxBytes) throw ioError(`${what} ${file} is over the limit of ${maxBytes} bytes`);
    return await handle.readFile('utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw ioError(`cannot read ${what} ${file}`, err);
  } finally {
    await handle?.close();
  }
}

/** True when `file` exists (any type). */
export async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(`cannot stat ${file}`, err);
  }
}

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Replace an existing file. Without it an existing file is refused (`ERR_USAGE`, "pass --force"). */
  overwrite: boolean;
  /** File mode. Default 0o600. */
  mode?: number;
}

/**
 * Writes `data` to `file` atomically: readers see the old or the new content,
 * never half a file. Without `overwrite` the final step is `link()`, which
 * fails if the file appeared meanwhile, so nothing is ever clobbered.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = options.mode ?? 0o600;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', mode);
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have narrowed or widened `mode` at open
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (options.overwrite) {
      await fs.rename(tmp, file);
    } else {
      try {
        await fs.link(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw usageError(`${file} already exists; pass --force to overwrite it`);
        throw err;
      }
      await fs.unlink(tmp);
    }
    await syncDir(dir);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    if (err instanceof CliError) throw err;
    throw ioError(`cannot write ${file}`, err);
  }
}

/** fsyncs a directory so a rename or link in it survives a crash (best effort). */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    /* not every platform can fsync a directory */
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
