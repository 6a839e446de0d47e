/**
 * Why an update was refused. Codes are stable (add new ones, never reuse or rename); each message
 * says what was wrong and what to do. tuf-js reports by exception (some wrapped in a RuntimeError
 * whose text carries the cause), so `classifyTufError` reads the class and the text once, here.
 */
export type UpdateRefusalCode =
  /** The trust store holds no root yet: provision it with the hub's root v1 first. */
  | 'EDGE_TUF_NOT_PROVISIONED'
  /** The source could not be read, or lacks a file the metadata requires. */
  | 'EDGE_TUF_SOURCE_UNAVAILABLE'
  /** No valid signature by a key the trusted root lists for that role (unknown key, altered content). */
  | 'EDGE_TUF_UNTRUSTED_SIGNATURE'
  /** Some valid signatures, fewer than the role's threshold. */
  | 'EDGE_TUF_THRESHOLD_NOT_MET'
  /** Metadata, assignment or policy older than what this edge already trusts. */
  | 'EDGE_TUF_ROLLBACK'
  /** Metadata or assignment expired at the reference time (max of the clock and the time floor). */
  | 'EDGE_TUF_EXPIRED'
  /** Timestamp, snapshot and targets do not describe each other (mix-and-match). */
  | 'EDGE_TUF_METADATA_MISMATCH'
  /** A root rotation that skips a version, or a root file that is not the version its name says. */
  | 'EDGE_TUF_ROOT_CHAIN_BROKEN'
  /** A target file whose length or sha256 differs from the targets metadata (or that never ends). */
  | 'EDGE_TUF_TARGET_MISMATCH'
  /** No assignment for this edge on the source. */
  | 'EDGE_TUF_NO_ASSIGNMENT'
  /** The assignment's signature is not by the assignment key(s) the trusted root names. */
  | 'EDGE_TUF_ASSIGNMENT_SIGNATURE'
  /** The assignment is for another edge or another site. */
  | 'EDGE_TUF_WRONG_EDGE'
  /** The assignment is malformed, or disagrees with the targets metadata (absent target, other hash or length). */
  | 'EDGE_TUF_ASSIGNMENT_MISMATCH'
  /** The delivered policy does not validate, or is not the policy its target name says. */
  | 'EDGE_TUF_POLICY_INVALID'
  /** Another update activated while this one ran; run it again. */
  | 'EDGE_TUF_CONCURRENT_UPDATE'
  /** Anything else the TUF client rejected (malformed metadata, unsupported spec version, ...). */
  | 'EDGE_TUF_INVALID_METADATA';

/** What the source offered, as far as the update read before it refused (absent fields: not reached). */
export interface OfferedUpdate {
  targetsVersion?: number;
  assignmentVersion?: number;
  policyTarget?: string;
  policyVersion?: number;
  policySha256?: string;
}

export interface UpdateRefusal {
  code: UpdateRefusalCode;
  message: string;
  /** Filled by updateFrom; the audit record and its de-duplication key name it. */
  offered?: OfferedUpdate;
}

export function refusal(code: UpdateRefusalCode, message: string): { refused: UpdateRefusal } {
  return { refused: { code, message: `update refused, active policy unchanged: ${message}` } };
}

/** Maps an exception from the tuf-js Updater to a refusal; `phase` says whether metadata or a target file was being read. */
export function classifyTufError(error: unknown, phase: 'metadata' | 'target'): { refused: UpdateRefusal } {
  const text = error instanceof Error ? error.message : String(error);
  const signed = /(\w[\w.-]*) was signed by (\d+)\/(\d+) keys/.exec(text);
  if (signed) {
    const [, role, got, need] = signed;
    return got === '0'
      ? refusal('EDGE_TUF_UNTRUSTED_SIGNATURE', `${role} metadata carries no valid signature by a key the trusted root lists for ${role} (signed by an unknown key, or altered after signing); 0 of ${need} required`)
      : refusal('EDGE_TUF_THRESHOLD_NOT_MET', `${role} metadata is signed by ${got} trusted key(s), its threshold is ${need}; ask the remaining key holders to sign`);
  }
  if (/Expected version (\d+), got (\d+)/.test(text)) return refusal('EDGE_TUF_ROOT_CHAIN_BROKEN', `a root file is not the version its name says (${text}); every root version must be present, in order`);
  if (/is expired/.test(text)) return refusal('EDGE_TUF_EXPIRED', `${text.replace(/^.*?error Error: /, '')} at the current time (freeze protection); bring a fresh export from the hub`);
  if (/less than current version/.test(text)) return refusal('EDGE_TUF_ROLLBACK', `the source is older than what this edge trusts (${text.replace(/^.*?error Error: /, '')}); bring a newer export from the hub`);
  if (/does not match snapshot version|doesn't match timestamp|Missing .* in (new )?snapshot/.test(text)) {
    return refusal('EDGE_TUF_METADATA_MISMATCH', `snapshot and targets metadata do not belong together (${text.replace(/^.*?error Error: /, '')}); the source mixes files of different releases`);
  }
  if (/Expected (length|hash)|Max length reached|Length mismatch/i.test(text)) {
    return phase === 'target'
      ? refusal('EDGE_TUF_TARGET_MISMATCH', `a target file differs from its targets metadata (${text}); the file on the source is corrupt or forged`)
      : refusal('EDGE_TUF_METADATA_MISMATCH', `a metadata file differs from the length or hash its parent records (${text.replace(/^.*?error Error: /, '')}); the source mixes files of different releases`);
  }
  if (/is not on the source|Failed to download|fetch failed|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|aborted|timed? ?out/i.test(text)) {
    return refusal('EDGE_TUF_SOURCE_UNAVAILABLE', `the source could not be read (${text.replace(/^.*?error Error: /, '')}); check the path or URL, or that the export is complete`);
  }
  return refusal('EDGE_TUF_INVALID_METADATA', `the TUF client rejected the source: ${text}`);
}
