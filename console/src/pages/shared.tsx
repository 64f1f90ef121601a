/** Pieces every page uses. */
import { ApiError } from '../api';

/** An API refusal or a failed call, with its code and hint. */
export function Failure(props: { error: Error | undefined }) {
  if (!props.error) return null;
  const hint = props.error instanceof ApiError ? props.error.hint : '';
  return (
    <p class="error" data-testid="error">
      {props.error.message}
      {hint && <small> ({hint})</small>}
    </p>
  );
}
