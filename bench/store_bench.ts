/**
 * The credential stores in one process: a warm get(), a set(), a lock and
 * release, and the first getCredentials() of a new authenticator served from
 * a filled file store. Run with `deno bench -A bench/store_bench.ts`; the
 * cost in a new process is measured by `bench/warm_start.ts`.
 */
import {
  CachingAuthenticator,
  type Credentials,
  FileCredentialStore,
  MemoryCredentialStore,
} from "../mod.ts";

const KEY = "https://flyte.example.com|pkce|flytectl";
const credentials: Credentials = {
  accessToken: "bench-access-token",
  refreshToken: "bench-refresh-token",
  expiresAt: Date.now() + 3600_000,
};

const directory = Deno.makeTempDirSync({ prefix: "sesame_store_bench_" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(directory, { recursive: true });
});
const fileStore = new FileCredentialStore({ directory });
await fileStore.set(KEY, credentials);
const memoryStore = new MemoryCredentialStore();
await memoryStore.set(KEY, credentials);

class StoredOnly extends CachingAuthenticator {
  protected fetchCredentials(): Promise<Credentials> {
    throw new Error("The bench expects the stored credentials");
  }
}

Deno.bench("MemoryCredentialStore get()", { group: "get" }, async () => {
  await memoryStore.get(KEY);
});

Deno.bench(
  "FileCredentialStore get()",
  { group: "get", baseline: true },
  async () => {
    await fileStore.get(KEY);
  },
);

Deno.bench("FileCredentialStore set()", async () => {
  await fileStore.set(KEY, credentials);
});

Deno.bench("FileCredentialStore lock() and release()", async () => {
  await (await fileStore.lock(KEY)).release();
});

Deno.bench(
  "first getCredentials() of a new authenticator, from the file store",
  async () => {
    const authenticator = new StoredOnly({
      storeKey: KEY,
      context: { credentialStore: fileStore },
    });
    await authenticator.getCredentials();
  },
);
