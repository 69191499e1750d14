import { Inject, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { SETTINGS } from '../config/config.module.js';
import type { Settings } from '../config/settings.js';
import { PROBLEM } from '../http/problem-catalogue.js';
import { ProblemError, type ProblemFieldError } from '../http/problem.js';
import { PredictRequestDto } from './dto/predict-request.dto.js';
import { textError } from './text-rules.js';

/**
 * A valid body nests two levels (`{"text": [...]}`). class-transformer copies values recursively,
 * so a body of thousands of nested arrays would overflow the stack (a 500); refuse it first.
 */
const MAX_NESTING = 32;

/** A body with thousands of bad items gets the first few named, not a megabyte of errors. */
const MAX_REPORTED_ERRORS = 20;

/**
 * Validates a predict body: the DTO's decorators for its shape (and unknown fields), then the
 * configured limits item by item, so every error names its path (`text[3]`).
 */
@Injectable()
export class PredictRequestPipe implements PipeTransform<unknown, Promise<PredictRequestDto>> {
  constructor(@Inject(SETTINGS) private readonly settings: Settings) {}

  async transform(body: unknown): Promise<PredictRequestDto> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidPredictRequest([{ path: '', message: 'the body must be a JSON object with a "text" array' }]);
    }
    if (nestsDeeperThan(body, MAX_NESTING)) {
      throw invalidPredictRequest([
        { path: '', message: `must not nest arrays or objects more than ${MAX_NESTING} levels deep` },
      ]);
    }
    const dto = plainToInstance(PredictRequestDto, body);
    const shapeErrors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
    const unknown = shapeErrors.filter((error) => error.constraints?.whitelistValidation !== undefined);
    const errors: ProblemFieldError[] = shapeErrors
      .filter((error) => !unknown.includes(error))
      .flatMap((error) =>
        // The DTO's messages are written to follow the path (`text` "must be an array of strings").
        Object.values(error.constraints ?? {}).map((message) => ({ path: error.property, message })),
      );
    errors.push(...unknownFieldErrors(unknown.map((error) => error.property)));
    if (errors.length === 0) errors.push(...this.limitErrors(dto.text));
    if (errors.length > 0) throw invalidPredictRequest(errors);
    return dto;
  }

  private limitErrors(texts: unknown[]): ProblemFieldError[] {
    const { maxBatchSize, maxTextChars } = this.settings;
    if (texts.length === 0) return [{ path: 'text', message: 'must contain at least 1 text' }];
    if (texts.length > maxBatchSize) {
      return [{ path: 'text', message: `must contain at most ${maxBatchSize} texts (got ${texts.length})` }];
    }
    const errors: ProblemFieldError[] = [];
    texts.forEach((item, index) => {
      const message = textError(item, maxTextChars);
      if (message !== undefined) errors.push({ path: `text[${index}]`, message });
    });
    return errors;
  }
}

/**
 * Field names are the caller's content: a short plain name is named back (it helps to see the typo),
 * anything longer or unprintable is only counted, so an error never carries a submitted string.
 */
const NAMEABLE_FIELD = /^[\x21-\x7e]{1,32}$/;

export function unknownFieldErrors(names: string[]): ProblemFieldError[] {
  const nameable = names.filter((name) => NAMEABLE_FIELD.test(name));
  const errors = nameable.map((name) => ({ path: name, message: 'is not a known field' }));
  const unnamed = names.length - nameable.length;
  if (unnamed > 0) {
    errors.push({
      path: '',
      message: `${unnamed} unknown field${unnamed === 1 ? '' : 's'} with a long or unprintable name`,
    });
  }
  return errors;
}

/** Iterative, so the check itself cannot overflow the stack. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/** The 422 for a predict request, naming at most the first few bad parts. */
export function invalidPredictRequest(errors: ProblemFieldError[]): ProblemError {
  return new ProblemError(PROBLEM.validation, 'The request body is not a valid predict request.', {
    errors: errors.slice(0, MAX_REPORTED_ERRORS),
  });
}
