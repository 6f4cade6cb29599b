import assert from "node:assert/strict";
import { credentialStoreKey, MemoryCredentialStore } from "../../mod.ts";

Deno.test("MemoryCredentialStore", async (t) => {
  await t.step("get() returns undefined for a key never set", async () => {
    const store = new MemoryCredentialStore();

    assert.equal(await store.get("k"), undefined);
  });

  await t.step("get() returns what set() stored", async () => {
    const store = new MemoryCredentialStore();
    const credentials = { accessToken: "a", refreshToken: "r", expiresAt: 1 };

    await store.set("k", credentials);

    assert.deepEqual(await store.get("k"), credentials);
    assert.equal(await store.get("other"), undefined);
  });

  await t.step("get() returns a copy the caller may change", async () => {
    const store = new MemoryCredentialStore();
    const credentials = { accessToken: "a" };
    await store.set("k", credentials);

    credentials.accessToken = "changed after set";
    const first = await store.get("k");
    first!.accessToken = "changed after get";

    assert.equal((await store.get("k"))?.accessToken, "a");
    assert.notEqual(first, await store.get("k"));
  });

  await t.step("delete() removes a key and ignores a missing one", async () => {
    const store = new MemoryCredentialStore();
    await store.set("k", { accessToken: "a" });

    await store.delete("k");
    await store.delete("k");

    assert.equal(await store.get("k"), undefined);
    assert.equal("lock" in store, false);
  });
});

Deno.test("credentialStoreKey()", async (t) => {
  await t.step("joins endpoint, mode and client id with |", () => {
    const key = credentialStoreKey("dns:///flyte:443", "pkce", "flytectl");

    assert.equal(key, "dns:///flyte:443|pkce|flytectl");
    assert.notEqual(key, credentialStoreKey("dns:///flyte:443", "pkce", "x"));
  });

  await t.step("throws a TypeError when a part is not a string", () => {
    const call = () =>
      credentialStoreKey("e", "m", undefined as unknown as string);

    assert.throws(call, TypeError);
    assert.throws(call, /clientId must be a string/);
  });
});
