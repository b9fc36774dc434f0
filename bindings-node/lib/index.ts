/**
 * Paybond Kit: a paid or side-effecting tool cannot run unless Paybond Harbor verified it.
 * Framework adapters: `paybond-kit/langchain`, `paybond-kit/openai-agents`; dev server: `paybond-kit/testing`.
 * Importing this module never loads a framework.
 */
export {
  CapabilityBinding,
  GatewayHarborTokenProvider,
  GatewaySignalClient,
  HarborClient,
  IntentCreated,
  ServiceAccountHarborSession,
  ServiceAccountSignalSession,
  jsonValueDigestHex,
  signIntentCreation,
  artifactsDigestHex,
  signPayeeEvidence,
  signPayeeEvidenceBinding,
} from "./client.js";
export type {
  AttenuateOptions,
  CapabilityBindingOptions,
  HarborSessionOptions,
  IntentCreationInput,
  SignEvidenceArgs,
  SignedEvidence,
  SignalSessionOptions,
  TokenProviderOptions,
  TransportOptions,
  VerifyCapabilityArgs,
} from "./client.js";
export {
  EvidenceConflictError,
  GatewayAuthError,
  HarborHttpError,
  InsecureUrlError,
  InternalError,
  InvalidArgumentError,
  InvalidResponseError,
  PaybondDeniedError,
  PaybondError,
  PaybondTimeoutError,
  SessionClosedError,
  SignalHttpError,
  SignatureInvalidError,
  SigningError,
  TenantBindingError,
  TokenIntentMismatchError,
  TransportError,
  UnguardedToolError,
  fromNative,
} from "./errors.js";
export { describeDecision, isAllowed, isApprovalRequired } from "./types.js";
export type * from "./types.js";
export { delegateAsTool, delegateHandoff, delegateNode, guardSubagent } from "./delegation.js";
export type { AgentLike, DelegateNodeOptions, DelegatedCallLike, DelegationLimits, DelegationOptions, HandoffLike, InvokableLike } from "./delegation.js";
