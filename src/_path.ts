/**
 * The few path operations sesame needs.
 *
 * Not `node:path`: importing it starts Deno's Node compatibility layer, about
 * 7 ms added to every process start (Deno 2.9), more than a warm
 * `getCredentials()` from the file store may cost in all.
 *
 * @module
 */

const WINDOWS = Deno.build.os === "windows";
const SEPARATOR = WINDOWS ? "\\" : "/";
const SEPARATORS = WINDOWS ? /[\\/]+/ : /\/+/;
const ROOT = WINDOWS ? /^([a-zA-Z]:)?[\\/]?/ : /^\/?/;

/**
 * Tells whether a path is absolute: `/x`, or `C:\x` and `\\server` on
 * Windows.
 *
 * @param path The path.
 * @returns Whether it is absolute.
 */
export function isAbsolutePath(path: string): boolean {
  return WINDOWS ? /^([a-zA-Z]:)?[\\/]/.test(path) : path.startsWith("/");
}

/**
 * The path of an entry of a folder, joined without normalizing: cheaper than
 * {@linkcode resolvePath} for a name that holds no separator.
 *
 * @param directory The folder.
 * @param name The entry's name.
 * @returns The entry's path.
 */
export function childPath(directory: string, name: string): string {
  const separated = directory.endsWith(SEPARATOR) ||
    (WINDOWS && directory.endsWith("/"));
  return separated ? directory + name : directory + SEPARATOR + name;
}

/**
 * Joins and normalizes path segments, resolving `.` and `..`; an absolute
 * segment starts over, as `path.resolve` does.
 *
 * @param base The absolute path to start from.
 * @param parts The segments to add.
 * @returns The absolute, normalized path.
 */
export function resolvePath(base: string, ...parts: string[]): string {
  let path = base;
  for (const part of parts) {
    if (part === "") continue;
    path = isAbsolutePath(part) ? part : `${path}${SEPARATOR}${part}`;
  }
  return normalize(path);
}

/**
 * The folder holding a path; the root for the root.
 *
 * @param path An absolute path.
 * @returns Its parent folder.
 */
export function parentPath(path: string): string {
  const normal = normalize(path);
  const cut = normal.lastIndexOf(SEPARATOR);
  const root = rootOf(normal);
  return cut < root.length ? root || normal : normal.slice(0, cut);
}

/**
 * The `file:` URL of an absolute path.
 *
 * @param path An absolute path.
 * @returns Its URL.
 */
export function pathToUrl(path: string): URL {
  const slashed = path.replaceAll("\\", "/");
  const encoded = slashed.split("/").map((part, index) =>
    WINDOWS && index === 0 ? part : encodeURIComponent(part)
  ).join("/");
  return new URL(`file://${slashed.startsWith("/") ? "" : "/"}${encoded}`);
}

/**
 * The path of a `file:` URL.
 *
 * @param url A `file:` URL.
 * @returns Its path.
 */
export function urlToPath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  return WINDOWS
    ? path.replace(/^\/([a-zA-Z]:)/, "$1").replaceAll("/", "\\")
    : path;
}

function rootOf(path: string): string {
  return ROOT.exec(path)?.[0] ?? "";
}

function normalize(path: string): string {
  const root = rootOf(path);
  const kept: string[] = [];
  for (const part of path.slice(root.length).split(SEPARATORS)) {
    if (part === "" || part === ".") continue;
    if (part === "..") kept.pop();
    else kept.push(part);
  }
  const normalRoot = WINDOWS ? root.replaceAll("/", "\\") : root;
  return normalRoot + kept.join(SEPARATOR) || ".";
}
