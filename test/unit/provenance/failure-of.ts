/** Test helper shared by the provenance tests: a verification's outcome as one string. */
import { ProvenanceVerificationError } from '../../../shared/provenance/types.js';

/** `OK`, or the ProvenanceFailure `fn` threw; any other error is rethrown. */
export function failureOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProvenanceVerificationError) return error.failure;
    throw error;
  }
  return 'OK';
}
