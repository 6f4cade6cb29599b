import assert from "node:assert/strict";
import { UnsecuredJWT } from "jose";
import {
  AuthError,
  type AuthEvent,
  CachingAuthenticator,
  type CachingAuthenticatorOptions,
  type Credentials,
  type FetchCredentialsOptions,
  MemoryCredentialStore,
} from "../../mod.ts";

const HOUR = 3600_000;

/** A clock that moves only when told to. */
class Clock {
  time = Date.UTC(2030, 0, 1);
  now = () => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

/**
 * An authenticator whose fetches are answered by the test: each call to
 * fetchCredentials waits until `answer()` or `fail()`.
 */
class ScriptedAuthenticator extends CachingAuthenticator {
  calls: FetchCredentialsOptions[] = [];
  #pending: PromiseWithResolvers<Credentials>[] = [];
  #arrived = Promise.withResolvers<void>();

  constructor(options: CachingAuthenticatorOptions = {}) {
    super(options);
  }

  protected fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    this.calls.push(options);
    const pending = Promise.withResolvers<Credentials>();
    this.#pending.push(pending);
    this.#arrived.resolve();
    return pending.promise;
  }

  /** Resolves once a fetch is waiting for an answer. */
  async fetchStarted(): Promise<void> {
    while (this.#pending.length === 0) {
      this.#arrived = Promise.withResolvers<void>();
      await this.#arrived.promise;
    }
  }

  answer(credentials: Credentials): void {
    const next = this.#pending.shift();
    assert.ok(next, "a fetch is waiting");
    next.resolve(credentials);
  }

  fail(error: Error): void {
    const next = this.#pending.shift();
    assert.ok(next, "a fetch is waiting");
    next.reject(error);
  }
}

function setup(options: CachingAuthenticatorOptions = {}) {
  const clock = new Clock();
  const events: AuthEvent[] = [];
  const authenticator = new ScriptedAuthenticator({
    ...options,
    context: {
      now: clock.now,
      onEvent: (event) => events.push(event),
      ...options.context,
    },
  });
  return { clock, events, authenticator };
}

/** Lets already-settled promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("getCredentials() fetches once for 1,000 concurrent callers on a cold cache", async () => {
  const { clock, authenticator } = setup();
  const callers = Array.from(
    { length: 1000 },
    () => authenticator.getCredentials(),
  );
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "a", expiresAt: clock.now() + HOUR });
  const results = await Promise.all(callers);

  assert.equal(authenticator.calls.length, 1);
  assert.ok(results.every((credentials) => credentials.accessToken === "a"));
});

Deno.test("getCredentials() serves the cached token without fetching while it is fresh", async () => {
  const { clock, authenticator, events } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "a", expiresAt: clock.now() + HOUR });
  await first;
  clock.advance(50 * 60_000);
  const second = await authenticator.getCredentials();

  assert.equal(second.accessToken, "a");
  assert.equal(authenticator.calls.length, 1);
  assert.equal(events.at(-1)?.type, "cache_hit");
});

Deno.test("getCredentials() serves the old token and refreshes once in the background inside the refresh-ahead window", async () => {
  const { clock, authenticator } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "old", expiresAt: clock.now() + HOUR });
  await first;

  clock.advance(HOUR - 4 * 60_000); // 4 minutes left: inside min(5 min, 30 min)
  const during = await Promise.all(
    Array.from({ length: 10 }, () => authenticator.getCredentials()),
  );
  assert.ok(during.every((c) => c.accessToken === "old"));
  assert.equal(authenticator.calls.length, 2);

  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "new", expiresAt: clock.now() + HOUR });
  await settle();
  assert.equal((await authenticator.getCredentials()).accessToken, "new");
  assert.equal(authenticator.calls.length, 2);
});

Deno.test("getCredentials() waits for the refresh inside the last 10 seconds", async () => {
  const { clock, authenticator } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "old", expiresAt: clock.now() + HOUR });
  await first;

  clock.advance(HOUR - 5_000);
  const waiting = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "new", expiresAt: clock.now() + HOUR });

  assert.equal((await waiting).accessToken, "new");
  assert.equal(authenticator.calls[1]?.current?.accessToken, "old");
});

Deno.test("getCredentials() does not loop when a refresh brings back the same expiry", async () => {
  const { clock, authenticator } = setup();
  const expiresAt = clock.now() + HOUR;
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "same", expiresAt });
  await first;

  clock.advance(HOUR - 60_000);
  await authenticator.getCredentials(); // starts the background refresh
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "same", expiresAt });
  await settle();
  for (let i = 0; i < 20; i++) await authenticator.getCredentials();
  clock.advance(50_000); // 10 s left: still the same token, no new fetch
  await authenticator.getCredentials();

  assert.equal(authenticator.calls.length, 2);
});

Deno.test("getCredentials() keeps serving after a failed background refresh and reports it", async () => {
  const { clock, authenticator, events } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "old", expiresAt: clock.now() + HOUR });
  await first;

  clock.advance(HOUR - 60_000);
  assert.equal((await authenticator.getCredentials()).accessToken, "old");
  await authenticator.fetchStarted();
  authenticator.fail(new AuthError("Token endpoint is down"));
  await settle();
  assert.equal((await authenticator.getCredentials()).accessToken, "old");

  assert.equal(authenticator.calls.length, 2);
  const failed = events.find((e) => e.type === "refresh_failed");
  assert.deepEqual(failed, {
    type: "refresh_failed",
    authenticator: "ScriptedAuthenticator",
    code: "AUTH_ERROR",
    message: "Token endpoint is down",
  });
});

Deno.test("refreshCredentials({ rejected }) skips the fetch when newer credentials are already there", async () => {
  const { clock, authenticator } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "one", expiresAt: clock.now() + HOUR });
  const rejected = await first;

  const burst = Array.from(
    { length: 50 },
    () => authenticator.refreshCredentials({ rejected }),
  );
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "two", expiresAt: clock.now() + HOUR });
  const results = await Promise.all(burst);
  const late = await authenticator.refreshCredentials({ rejected });

  assert.equal(authenticator.calls.length, 2);
  assert.ok(results.every((c) => c.accessToken === "two"));
  assert.equal(late.accessToken, "two");
});

Deno.test("getCredentials() keeps a token of unknown expiry until a forced refresh", async () => {
  const { clock, authenticator } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "opaque" });
  await first;

  clock.advance(10 * 365 * 24 * HOUR);
  assert.equal((await authenticator.getCredentials()).accessToken, "opaque");
  assert.equal(authenticator.calls.length, 1);

  const forced = authenticator.refreshCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "renewed" });
  assert.equal((await forced).accessToken, "renewed");
});

Deno.test("getCredentials() treats a token that only looks like a JWT as of unknown expiry", async () => {
  const { authenticator } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: "three.dotted.parts" });

  const credentials = await first;
  assert.equal(credentials.accessToken, "three.dotted.parts");
  assert.equal(credentials.expiresAt, undefined);
  assert.equal(
    (await authenticator.getCredentials()).accessToken,
    credentials.accessToken,
  );
  assert.equal(authenticator.calls.length, 1);
});

Deno.test("getCredentials() reads the expiry from the JWT exp when none is given", async () => {
  const { clock, authenticator } = setup();
  const exp = Math.floor(clock.now() / 1000) + 3600;
  const jwt = new UnsecuredJWT({}).setExpirationTime(exp).encode();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({ accessToken: jwt });

  assert.equal((await first).expiresAt, exp * 1000);
  clock.advance(HOUR);
  const expired = authenticator.getCredentials();
  await authenticator.fetchStarted();
  assert.equal(authenticator.calls.length, 2);
  authenticator.answer({ accessToken: "next", expiresAt: clock.now() + HOUR });
  await expired;
});

Deno.test("getCredentials() keeps the old refresh token when a refresh brings none", async () => {
  const { clock, authenticator } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({
    accessToken: "a",
    refreshToken: "r1",
    expiresAt: clock.now() + HOUR,
  });
  await first;

  clock.advance(HOUR);
  const second = authenticator.getCredentials();
  await authenticator.fetchStarted();
  assert.equal(authenticator.calls[1]?.current?.refreshToken, "r1");
  authenticator.answer({ accessToken: "b", expiresAt: clock.now() + HOUR });

  assert.equal((await second).refreshToken, "r1");
});

Deno.test("getCredentials() rejects credentials without an access token", async () => {
  const { authenticator } = setup();
  const first = authenticator.getCredentials();
  await authenticator.fetchStarted();
  authenticator.answer({} as Credentials);

  await assert.rejects(first, (error: unknown) => {
    assert.ok(error instanceof AuthError);
    assert.match(error.message, /without an access token/);
    return true;
  });
});

Deno.test("getCredentials() stops one caller's wait on abort and aborts the fetch when all gave up", async () => {
  const { clock, authenticator } = setup();
  const first = new AbortController();
  const second = new AbortController();
  const a = authenticator.getCredentials({ signal: first.signal });
  const b = authenticator.getCredentials({ signal: second.signal });
  await authenticator.fetchStarted();
  const fetchSignal = authenticator.calls[0]!.signal;

  first.abort(new Error("first gave up"));
  await assert.rejects(a, /first gave up/);
  assert.equal(fetchSignal.aborted, false);

  second.abort(new Error("second gave up"));
  await assert.rejects(b, /second gave up/);
  assert.equal(fetchSignal.aborted, true);
  authenticator.answer({ accessToken: "late", expiresAt: clock.now() + HOUR });
});

Deno.test("getCredentials() reuses credentials from the store in a new instance", async () => {
  const credentialStore = new MemoryCredentialStore();
  const clock = new Clock();
  const options = {
    storeKey: "https://flyte.example.com|pkce|flytectl",
    context: { credentialStore, now: clock.now },
  };
  const writer = new ScriptedAuthenticator(options);
  const first = writer.getCredentials();
  await writer.fetchStarted();
  writer.answer({ accessToken: "stored", expiresAt: clock.now() + HOUR });
  await first;

  const reader = new ScriptedAuthenticator(options);
  assert.equal((await reader.getCredentials()).accessToken, "stored");
  assert.equal(reader.calls.length, 0);
  assert.equal(
    (await credentialStore.get(options.storeKey))?.accessToken,
    "stored",
  );
});

Deno.test("refreshCredentials({ rejected }) does not adopt the rejected token from the store", async () => {
  const credentialStore = new MemoryCredentialStore();
  const clock = new Clock();
  const storeKey = "k";
  await credentialStore.set(storeKey, {
    accessToken: "revoked",
    refreshToken: "r",
    expiresAt: clock.now() + HOUR,
  });
  const authenticator = new ScriptedAuthenticator({
    storeKey,
    context: { credentialStore, now: clock.now },
  });

  const rejected = await authenticator.getCredentials();
  const refreshed = authenticator.refreshCredentials({ rejected });
  await authenticator.fetchStarted();
  assert.equal(authenticator.calls[0]?.current?.refreshToken, "r");
  authenticator.answer({ accessToken: "fresh", expiresAt: clock.now() + HOUR });

  assert.equal((await refreshed).accessToken, "fresh");
  assert.equal((await credentialStore.get(storeKey))?.accessToken, "fresh");
});
