/** The vault's own failures; server/routes/family-vault.ts maps them to the API's envelope. */
export type VaultErrorCode = 'NOT_FOUND' | 'NOT_RELEASED' | 'CONFLICT' | 'VALIDATION_FAILED' | 'QUOTA_EXCEEDED' | 'PAYLOAD_TOO_LARGE' | 'UPLOAD_ABORTED';

export class VaultServiceError extends Error {
  override readonly name = 'VaultServiceError';
  constructor(
    readonly code: VaultErrorCode,
    message: string,
  ) {
    super(message);
  }
}
