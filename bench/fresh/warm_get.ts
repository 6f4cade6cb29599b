/**
 * Where a warm `getCredentials()` in a new process spends its time, seen
 * from inside: when this script's first line ran (since the process's time
 * origin: before it, Deno builds the module graph, which includes mod.ts
 * because of the literal dynamic import below), the import of mod.ts, the
 * first `getCredentials()`, and a second one on another authenticator and
 * key, which shows what the first paid only for being first.
 *
 * Args: the store folder and two keys holding credentials. Prints one line
 * of JSON. Run by `bench/warm_start.ts`.
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a script whose output is its report

const started = performance.now();
const { CachingAuthenticator, FileCredentialStore } = await import(
  "../../mod.ts"
);
const imported = performance.now();

class StoredOnly extends CachingAuthenticator {
  protected fetchCredentials(): Promise<never> {
    throw new Error("Expected the stored credentials");
  }
}

const [directory, firstKey, secondKey] = Deno.args;
const credentialStore = new FileCredentialStore({ directory });
const context = { credentialStore };
await new StoredOnly({ storeKey: firstKey, context }).getCredentials();
const first = performance.now();
await new StoredOnly({ storeKey: secondKey, context }).getCredentials();
const second = performance.now();

console.log(JSON.stringify({
  "first line": started,
  "import mod.ts": imported - started,
  "first getCredentials()": first - imported,
  "second getCredentials()": second - first,
}));
