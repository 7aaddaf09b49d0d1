/** The clauses rules cite, spelled once (MCP clauses as docs/spec/mcp-authorization.md cites them). */
const MCP_AUTH = 'https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization'
const MCP_2026 = 'https://modelcontextprotocol.io/specification/2026-07-28'
const RFC8693 = 'https://www.rfc-editor.org/rfc/rfc8693'

export const REF = {
  rfc8707s2: 'RFC 8707 §2 Resource Parameter',
  rfc8707s21: 'RFC 8707 §2.1 Authorization Request',
  rfc8707s22: 'RFC 8707 §2.2 Access Token Request',
  rfc8707s3: 'RFC 8707 §3 Security Considerations',
  rfc9068s22: 'RFC 9068 §2.2 Data Structure (required claims; §2.2.3 scope)',
  rfc9068s3: 'RFC 9068 §3 Requesting a JWT Access Token',
  rfc9068s4: 'RFC 9068 §4 Validating JWT Access Tokens',
  rfc9068s5: 'RFC 9068 §5 Security Considerations',
  rfc7519s2: 'RFC 7519 §2 StringOrURI (no canonicalization)',
  rfc7519s413: 'RFC 7519 §4.1.3 "aud" (Audience) Claim',
  rfc6749s7: 'RFC 6749 §7 Accessing Protected Resources',
  rfc9700s23: 'RFC 9700 §2.3 Access Token Privilege Restriction',
  rfc9728s33: 'RFC 9728 §3.3 Protected Resource Metadata Validation',
  rfc9728s74: 'RFC 9728 §7.4 Audience-Restricted Access Tokens',
  rfc3986s62: 'RFC 3986 §6.2 Comparison Ladder',
  mcpTokenHandling: `MCP 2025-11-25 Authorization, Token Handling (${MCP_AUTH}#token-handling)`,
  mcpPrivilege: `MCP 2025-11-25 Authorization, Access Token Privilege Restriction (${MCP_AUTH}#access-token-privilege-restriction)`,
  mcpResourceParam: `MCP 2025-11-25 Authorization, Resource Parameter Implementation (${MCP_AUTH}#resource-parameter-implementation)`,
  mcpCanonical: `MCP 2025-11-25 Authorization, Canonical Server URI (${MCP_AUTH}#canonical-server-uri)`,
  mcpAudienceBinding: `MCP 2025-11-25 Authorization, Token Audience Binding and Validation (${MCP_AUTH}#token-audience-binding-and-validation)`,
  mcpTokenTheft: `MCP 2025-11-25 Authorization, Token Theft (${MCP_AUTH}#token-theft)`,
  mcpPassthrough:
    'MCP 2025-11-25 Security Best Practices, Token Passthrough (https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices#token-passthrough)',
  mcpScopeMinimization:
    'MCP 2025-11-25 Security Best Practices, Scope Minimization (https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices#scope-minimization)',
  sep2243:
    'MCP SEP-2243 HTTP Header Standardization (https://github.com/modelcontextprotocol/modelcontextprotocol/blob/main/seps/2243-http-standard-headers.md)',
  mcp2026Headers: `MCP 2026-07-28 Streamable HTTP, Request Metadata: Standard Request Headers ("These headers are REQUIRED") and Server Validation ("Client omits header but value is in body | Server MUST reject"; intermediaries "SHOULD reject the request rather than trusting unvalidated header values") (${MCP_2026}/basic/transports/streamable-http#request-metadata)`,
  mcp2026Sessions: `MCP 2026-07-28 Key Changes 1-2: protocol-level sessions and \`Mcp-Session-Id\` removed; every request carries its protocol version, client capabilities and client info in \`_meta\`; trace context in \`_meta\` (SEP-414) (${MCP_2026}/changelog)`,
  mcp2026Passthrough: `MCP 2026-07-28 Authorization Security Considerations, Access Token Privilege Restriction ("The MCP server MUST NOT pass through the token it received from the MCP client") (${MCP_2026}/basic/authorization/security-considerations#access-token-privilege-restriction)`,
  mcp2026AsBinding: `MCP 2026-07-28 Client Registration, Authorization Server Binding (clients "MUST NOT reuse client credentials from a different authorization server"; Client ID Metadata Document URLs are portable) (${MCP_2026}/basic/authorization/client-registration#authorization-server-binding)`,
  rfc8693s21: `RFC 8693 §2.1 Request (subject_token, actor_token, resource, audience, scope) (${RFC8693}#section-2.1)`,
  rfc8693s41: `RFC 8693 §4.1 "act" (Actor) Claim: nested actors form the delegation chain (${RFC8693}#section-4.1)`,
  rfc8693s44: `RFC 8693 §4.4 "may_act" (Authorized Actor) Claim (${RFC8693}#section-4.4)`,
  rfc8693s5: `RFC 8693 §5 Security Considerations (${RFC8693}#section-5)`,
  nist800207:
    'NIST SP 800-207 §2.1 tenet 3 ("authentication and authorization to one resource will not automatically grant access to a different resource")',
} as const
