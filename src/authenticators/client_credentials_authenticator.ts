// PLACEHOLDER(#3): replaced by the real implementation in this session.
import type { Credentials } from "../authenticator.ts";
import type { ClientConfigStore } from "../client_config.ts";
import type { AuthContext } from "../context.ts";
import type { PlatformConfig } from "../platform_config.ts";
import { CachingAuthenticator } from "./caching_authenticator.ts";

export class ClientCredentialsAuthenticator extends CachingAuthenticator {
  constructor(
    _config: PlatformConfig,
    _store: ClientConfigStore,
    context: AuthContext,
  ) {
    super({ context });
  }

  protected fetchCredentials(): Promise<Credentials> {
    throw new Error("not implemented");
  }
}
