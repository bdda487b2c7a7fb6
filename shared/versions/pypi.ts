/**
 * Python package versions per PEP 440 (https://peps.python.org/pep-0440/), through
 * @renovatebot/pep440, a port of the `packaging` library pip uses. Legacy (non-PEP 440)
 * versions are invalid, as in packaging >= 22.
 */
import { compare as pepCompare, valid as pepValid } from '@renovatebot/pep440';
import { InvalidVersionError, type Ordering, sign, type VersionScheme } from './types.js';

function check(version: string): string {
  if (pepValid(version) === null)
    throw new InvalidVersionError('PyPI', version, 'not a PEP 440 version');
  return version;
}

export const pypi: VersionScheme = {
  name: 'PyPI',
  compare: (a, b) => sign(pepCompare(check(a), check(b))) as Ordering,
  valid: (v) => pepValid(v) !== null,
};
