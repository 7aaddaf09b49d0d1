/** `audtrail/collectors/oidc-provider`: authorization.requested and token.issued from node-oidc-provider. */
export { attachOidcProvider } from './oidc-provider/attach.js'
export type {
  OidcProviderCollector,
  OidcProviderCollectorOptions,
  OidcProviderLike,
  OidcProviderStats,
} from './oidc-provider/types.js'
