import { z } from 'zod';

/** For optional variables: compose and shells pass an unset variable as an empty string. */
export const unsetWhenEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema);
