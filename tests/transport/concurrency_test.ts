import assert from "node:assert/strict";
import { runExpiryBurst } from "../support/expiry_burst.ts";

Deno.test("createAuthFetch() costs two token requests for 10,000 requests across one token expiry", async () => {
  const result = await runExpiryBurst({ requests: 10_000, concurrency: 64 });

  assert.equal(result.tokenRequests, 2);
  assert.equal(result.rejected, 0);
  // The requests started before the clock passed the expiry carried the
  // first token, the others the second.
  assert.deepEqual(result.perToken, [5000, 5000]);
});
