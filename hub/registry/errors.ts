/** Registry errors: stable codes (add new ones, never reuse or rename) and a message that says what to do. */
export type HubTufErrorCode =
  /** init on a directory that already holds a repository. */
  | 'HUB_TUF_REPO_EXISTS'
  /** No repository (no metadata/1.root.json) at the directory. */
  | 'HUB_TUF_REPO_MISSING'
  /** Role definitions that cannot work: threshold above the number of keys, no keys, a key twice. */
  | 'HUB_TUF_BAD_ROLES'
  /** A key file that is not an ed25519 key in PEM. */
  | 'HUB_TUF_BAD_KEY'
  /** A signer whose key the role does not list. */
  | 'HUB_TUF_KEY_NOT_IN_ROLE'
  /** Fewer valid signers than the role's threshold: nothing was written. */
  | 'HUB_TUF_THRESHOLD_NOT_MET'
  /** A target name outside the layout, or a file that does not parse as what its name says. */
  | 'HUB_TUF_BAD_TARGET'
  /** A target name already published with other content: versions are immutable, raise the version. */
  | 'HUB_TUF_TARGET_CHANGED'
  /** An assignment names a target the current targets metadata does not list. */
  | 'HUB_TUF_UNKNOWN_TARGET'
  /** publish or export before any targets release. */
  | 'HUB_TUF_NOTHING_TO_PUBLISH'
  /** export into a directory that is not empty. */
  | 'HUB_TUF_EXPORT_NOT_EMPTY';

export class HubTufError extends Error {
  override readonly name = 'HubTufError';
  constructor(
    readonly code: HubTufErrorCode,
    message: string,
  ) {
    super(message);
  }
}
