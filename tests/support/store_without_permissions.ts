/**
 * Run with no permissions at all: constructs a FileCredentialStore with the
 * default folder, which must touch neither the environment nor the disk,
 * then calls get(), which must fail with a ConfigError. Prints the outcome
 * as JSON.
 *
 * @module
 */

import { AuthError, FileCredentialStore } from "../../mod.ts";

const store = new FileCredentialStore();
let outcome: Record<string, unknown> = { constructed: true };
try {
  await store.get("k");
} catch (error) {
  if (!(error instanceof AuthError)) throw error;
  outcome = {
    ...outcome,
    name: error.name,
    code: error.code,
    message: error.message,
  };
}
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(outcome)));
