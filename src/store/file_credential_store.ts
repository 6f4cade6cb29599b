/**
 * A credential store on disk, shared by every process of the user: one JSON
 * file per key in the user cache directory, with a kernel lock per key.
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";
import { AuthError, ConfigError } from "../errors.ts";
import type { CredentialLock, CredentialStore } from "./credential_store.ts";
import { childPath, isAbsolutePath, resolvePath } from "../_path.ts";

const FORMAT_VERSION = 1;
const SLUG_MAX = 40;

/** Options of the {@linkcode FileCredentialStore} constructor. */
export interface FileCredentialStoreOptions {
  /**
   * The folder to keep the files in. It is created with mode 0700 when
   * missing; an existing folder given here keeps its mode (the files in it
   * are 0600 anyway).
   *
   * @default {"$XDG_CACHE_HOME/sesame, else ~/.cache/sesame; %LOCALAPPDATA%\\sesame on Windows"}
   */
  directory?: string;
}

/**
 * A {@linkcode CredentialStore} that keeps each key in its own JSON file, so
 * a login lasts across runs and is shared by the processes of one user.
 *
 * - Files are mode 0600 in a folder created with mode 0700; the default
 *   folder is narrowed to 0700 when it is found wider.
 * - A write goes to a temporary file in the same folder, then is renamed
 *   over the old one, so a reader sees the old or the new file, never half.
 * - A corrupt file, or one holding something other than credentials, reads
 *   as absent and is replaced by the next `set`.
 * - `lock(key)` takes an exclusive `Deno.FsFile.lock` on a `.lock` file of
 *   that key. It is a kernel lock: a process that dies holding it releases
 *   it. Two locks on one key exclude each other in one process too.
 *
 * Nothing is read, neither the environment nor the disk, until the first
 * call.
 *
 * Requires `--allow-read` and `--allow-write` for the folder, and
 * `--allow-env` (`XDG_CACHE_HOME`, `HOME`; `LOCALAPPDATA` on Windows) for the
 * default folder.
 *
 * > [!NOTE]
 * > Tokens are kept in plain JSON, protected only by file permissions; use
 * > another store where the disk is shared. The `.lock` files are never
 * > deleted, since another process may hold one, and a process killed in
 * > the middle of a write may leave a `.tmp` file, which is never read.
 *
 * @example Keeping credentials in a folder
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileCredentialStore } from "@sesame/auth";
 *
 * const directory = await Deno.makeTempDir();
 * const store = new FileCredentialStore({ directory });
 * await store.set("https://flyte.example.com|pkce|flytectl", {
 *   accessToken: "t",
 *   expiresAt: Date.now() + 3600_000,
 * });
 * const stored = await store.get("https://flyte.example.com|pkce|flytectl");
 * assert.ok(stored?.accessToken === "t");
 * await Deno.remove(directory, { recursive: true });
 * ```
 */
export class FileCredentialStore implements CredentialStore {
  readonly #given?: string;
  #directory?: string;

  /**
   * Creates a store; touches neither the disk nor the environment.
   *
   * @param options The folder to keep the files in.
   */
  constructor(options: FileCredentialStoreOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        "Cannot create a FileCredentialStore: options must be an object",
      );
    }
    const { directory } = options;
    if (directory !== undefined && typeof directory !== "string") {
      throw new TypeError(
        "Cannot create a FileCredentialStore: options.directory must be a string",
      );
    }
    this.#given = directory || undefined;
  }

  /**
   * The folder the files are kept in, resolved on first use.
   *
   * Requires `--allow-env` for the default folder.
   *
   * @returns The folder's path.
   *
   * @example Where the files go
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileCredentialStore } from "@sesame/auth";
   *
   * const store = new FileCredentialStore({ directory: "/tmp/tokens" });
   * assert.ok(store.directory === "/tmp/tokens");
   * ```
   */
  get directory(): string {
    this.#directory ??= this.#given ?? defaultDirectory();
    return this.#directory;
  }

  /**
   * Reads the credentials under a key. A missing, corrupt or foreign file
   * reads as `undefined`.
   *
   * Requires `--allow-read` for the folder, and `--allow-env` for the
   * default folder.
   *
   * @param key The key, such as `endpoint|mode|clientId`.
   * @returns A fresh copy of the credentials, or `undefined`.
   *
   * @example Reading a key that was never set
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileCredentialStore } from "@sesame/auth";
   *
   * const directory = await Deno.makeTempDir();
   * const store = new FileCredentialStore({ directory });
   * assert.ok(await store.get("missing") === undefined);
   * await Deno.remove(directory);
   * ```
   */
  get(key: string): Promise<Credentials | undefined> {
    // Read synchronously: the file is small, and a process's first
    // asynchronous file operation costs more than the whole read.
    try {
      return Promise.resolve(this.#read(key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #read(key: string): Credentials | undefined {
    const path = this.#path(key, ".json");
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw this.#failure("read credentials from", path, error);
    }
    return parseEntry(text, key);
  }

  /**
   * Stores credentials under a key, replacing what was there at once: the
   * new file is written aside, then renamed over the old one.
   *
   * Requires `--allow-read` and `--allow-write` for the folder, and
   * `--allow-env` for the default folder.
   *
   * @param key The key, such as `endpoint|mode|clientId`.
   * @param credentials The credentials to keep; fields other than those of
   * {@linkcode Credentials} are dropped.
   *
   * @example Replacing stored credentials
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileCredentialStore } from "@sesame/auth";
   *
   * const directory = await Deno.makeTempDir();
   * const store = new FileCredentialStore({ directory });
   * await store.set("k", { accessToken: "old" });
   * await store.set("k", { accessToken: "new" });
   * assert.ok((await store.get("k"))?.accessToken === "new");
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async set(key: string, credentials: Credentials): Promise<void> {
    const path = this.#path(key, ".json");
    const entry = {
      version: FORMAT_VERSION,
      key,
      credentials: checkCredentials(credentials),
    };
    await this.#ensureDirectory();
    await this.#writeAtomically(path, JSON.stringify(entry));
  }

  /**
   * Deletes the credentials under a key; a missing key is not an error.
   *
   * Requires `--allow-write` for the folder, and `--allow-env` for the
   * default folder.
   *
   * @param key The key, such as `endpoint|mode|clientId`.
   *
   * @example Logging out
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileCredentialStore } from "@sesame/auth";
   *
   * const directory = await Deno.makeTempDir();
   * const store = new FileCredentialStore({ directory });
   * await store.set("k", { accessToken: "t" });
   * await store.delete("k");
   * await store.delete("k");
   * assert.ok(await store.get("k") === undefined);
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async delete(key: string): Promise<void> {
    const path = this.#path(key, ".json");
    try {
      await Deno.remove(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw this.#failure("delete credentials at", path, error);
    }
  }

  /**
   * Lists the keys that have readable credentials in the folder; corrupt
   * and foreign files are left out.
   *
   * Requires `--allow-read` for the folder, and `--allow-env` for the
   * default folder.
   *
   * @returns The keys, in no particular order.
   *
   * @example Listing what is stored
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileCredentialStore } from "@sesame/auth";
   *
   * const directory = await Deno.makeTempDir();
   * const store = new FileCredentialStore({ directory });
   * await store.set("https://flyte.example.com|pkce|flytectl", { accessToken: "t" });
   * assert.ok((await store.keys()).length === 1);
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async keys(): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.directory)) {
        if (!entry.isFile || !entry.name.endsWith(".json")) continue;
        const key = await this.#keyOf(childPath(this.directory, entry.name));
        if (key !== undefined) keys.push(key);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return keys;
      throw this.#failure("list credentials in", this.directory, error);
    }
    return keys;
  }

  /** The key a file holds, if it is one of ours and names its own file. */
  async #keyOf(path: string): Promise<string | undefined> {
    let key: unknown;
    try {
      key = JSON.parse(await Deno.readTextFile(path))?.key;
    } catch {
      return undefined;
    }
    if (typeof key !== "string" || key === "") return undefined;
    const expected = this.#path(key, ".json");
    return expected === path && (await this.get(key)) !== undefined
      ? key
      : undefined;
  }

  /**
   * Takes an exclusive kernel lock on a key, waiting as long as another
   * holder, in this process or another, keeps it. A process that dies while
   * holding it releases it.
   *
   * > [!NOTE]
   * > The wait has no limit: a live holder that hangs keeps the others
   * > waiting.
   *
   * Requires `--allow-read` and `--allow-write` for the folder, and
   * `--allow-env` for the default folder.
   *
   * @param key The key, such as `endpoint|mode|clientId`.
   * @returns The held lock; `release()` unlocks it and may be called twice.
   *
   * @example Refreshing under the lock
   * ```ts
   * import { FileCredentialStore } from "@sesame/auth";
   *
   * const directory = await Deno.makeTempDir();
   * const store = new FileCredentialStore({ directory });
   * const lock = await store.lock("k");
   * try {
   *   if (await store.get("k") === undefined) {
   *     await store.set("k", { accessToken: "fetched" });
   *   }
   * } finally {
   *   await lock.release();
   * }
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async lock(key: string): Promise<CredentialLock> {
    const path = this.#path(key, ".lock");
    await this.#ensureDirectory();
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, {
        read: true,
        write: true,
        create: true,
        mode: 0o600,
      });
    } catch (error) {
      throw this.#failure("open the lock file", path, error);
    }
    try {
      await file.lock(true);
    } catch (error) {
      file.close();
      throw this.#failure("lock", path, error);
    }
    return new FileLock(file);
  }

  #path(key: string, extension: string): string {
    if (typeof key !== "string" || key === "") {
      throw new TypeError(
        "Cannot use a credential store key: it must be a non-empty string",
      );
    }
    return childPath(this.directory, fileName(key) + extension);
  }

  async #ensureDirectory(): Promise<void> {
    const directory = this.directory;
    try {
      await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
      if (this.#given === undefined && Deno.build.os !== "windows") {
        // The default folder is ours: narrow it if someone widened it.
        const { mode } = await Deno.stat(directory);
        if (mode !== null && (mode & 0o077) !== 0) {
          await Deno.chmod(directory, 0o700);
        }
      }
    } catch (error) {
      throw this.#failure("create the credentials folder", directory, error);
    }
  }

  async #writeAtomically(path: string, text: string): Promise<void> {
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      const file = await Deno.open(temporary, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
      try {
        await writeAll(file, new TextEncoder().encode(text));
        await file.syncData();
      } finally {
        file.close();
      }
      await Deno.rename(temporary, path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw this.#failure("write credentials to", path, error);
    }
  }

  #failure(failed: string, path: string, cause: unknown): AuthError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const fix = cause instanceof Deno.errors.NotCapable
      ? `run with --allow-read and --allow-write for "${this.directory}"`
      : "check the folder's permissions, or pass options.directory";
    return new AuthError(
      `Cannot ${failed} "${path}": ${reason}; ${fix}`,
      { cause },
    );
  }
}

/** A held `.lock` file; closing it is what the kernel needs to release it. */
class FileLock implements CredentialLock {
  #file?: Deno.FsFile;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async release(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    try {
      await file.unlock();
    } catch {
      // Closing below releases the lock as well.
    } finally {
      file.close();
    }
  }
}

function defaultDirectory(): string {
  const onWindows = Deno.build.os === "windows";
  const names = onWindows ? ["LOCALAPPDATA"] : ["XDG_CACHE_HOME", "HOME"];
  let env: Record<string, string | undefined>;
  try {
    env = Object.fromEntries(names.map((name) => [name, Deno.env.get(name)]));
  } catch (cause) {
    throw new ConfigError(
      `Cannot find the user cache directory: reading ${
        names.map((name) => `"${name}"`).join(" and ")
      } is not allowed; run with --allow-env=${
        names.join(",")
      } or pass options.directory to FileCredentialStore`,
      { cause },
    );
  }
  const base = onWindows ? env.LOCALAPPDATA : unixCacheHome(env);
  if (!base) {
    throw new ConfigError(
      `Cannot find the user cache directory: ${
        names.map((name) => `"${name}"`).join(" and ")
      } are not set; set one or pass options.directory to FileCredentialStore`,
    );
  }
  return resolvePath(base, "sesame");
}

function unixCacheHome(
  env: Record<string, string | undefined>,
): string | undefined {
  const { XDG_CACHE_HOME: xdg, HOME: home } = env;
  // The XDG Base Directory spec says to ignore a relative XDG_CACHE_HOME.
  if (xdg && isAbsolutePath(xdg)) return xdg;
  return home ? resolvePath(home, ".cache") : undefined;
}

/**
 * A readable slug of the key and a hash of it, safe on every file system.
 *
 * The hash only tells keys apart: each file also holds its key, checked on
 * every read, so two keys sharing a name could never see each other's
 * credentials. FNV-1a is used rather than SHA-256 because it is synchronous:
 * the first `crypto.subtle` digest of a process costs about half a
 * millisecond, more than the rest of a warm read.
 */
function fileName(key: string): string {
  const hex = fnv1a64(key);
  const slug = slugOf(key);
  return slug ? `${slug}-${hex}` : hex;
}

/**
 * The key in lower case, with letters, digits and dots kept and every run of
 * anything else made one dash, cut at {@linkcode SLUG_MAX} characters, and
 * with no dash or dot at either end. Written as a loop: the regular
 * expressions it replaces cost a tenth of a millisecond to compile in each
 * process.
 */
function slugOf(key: string): string {
  let slug = "";
  for (const char of key.toLowerCase()) {
    if (slug.length === SLUG_MAX) break;
    const kept = (char >= "a" && char <= "z") || (char >= "0" && char <= "9") ||
      char === ".";
    if (kept) slug += char;
    else if (!slug.endsWith("-")) slug += "-";
  }
  let start = 0;
  let end = slug.length;
  while (start < end && "-.".includes(slug[start]!)) start++;
  while (end > start && "-.".includes(slug[end - 1]!)) end--;
  return slug.slice(start, end);
}

/**
 * The 64-bit FNV-1a hash of a string's UTF-8 bytes, as 16 hex digits.
 *
 * The hash is kept in four 16-bit limbs, low first, so that every product
 * stays exact in a double: BigInt arithmetic would be shorter, but costs a
 * third of a millisecond on a process's first call.
 */
function fnv1a64(text: string): string {
  const bytes = utf8Bytes(text);
  // The offset basis, 0xcbf29ce484222325.
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    // Times the prime 2^40 + 0x1b3: hash * 0x1b3 + (hash << 40), carrying
    // each limb's overflow into the next.
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, "0"))
    .join("");
}

/** A string's UTF-8 bytes; for ASCII, its code units, without an encoder. */
function utf8Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return new TextEncoder().encode(text);
    bytes[i] = code;
  }
  return bytes;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await file.write(bytes.subarray(written));
  }
}

/** The stored credentials, or `undefined` for anything else. */
function parseEntry(text: string, key: string): Credentials | undefined {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(entry) || entry.version !== FORMAT_VERSION) return undefined;
  if (entry.key !== key) return undefined;
  return readCredentials(entry.credentials);
}

function readCredentials(value: unknown): Credentials | undefined {
  if (!isRecord(value)) return undefined;
  const { accessToken, expiresAt } = value;
  if (typeof accessToken !== "string" || accessToken === "") return undefined;
  const credentials: Credentials = { accessToken };
  for (const name of ["refreshToken", "idToken", "forEndpoint"] as const) {
    const field = value[name];
    if (field === undefined) continue;
    if (typeof field !== "string") return undefined;
    credentials[name] = field;
  }
  if (expiresAt !== undefined) {
    if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt)) {
      return undefined;
    }
    credentials.expiresAt = expiresAt;
  }
  return credentials;
}

function checkCredentials(credentials: Credentials): Credentials {
  const checked = readCredentials(credentials);
  if (checked === undefined) {
    throw new TypeError(
      "Cannot store credentials: they need a non-empty string accessToken, string refreshToken, idToken and forEndpoint, and a finite number expiresAt, when present",
    );
  }
  return checked;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
