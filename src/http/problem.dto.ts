import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { Problem, ProblemFieldError } from './problem.js';

/** OpenAPI schema of `ProblemFieldError`. */
@ApiSchema({ name: 'ProblemFieldError', description: 'One invalid part of a request body.' })
export class ProblemFieldErrorDto implements ProblemFieldError {
  @ApiProperty({
    description: 'Where in the request body: `text`, `text[3]`, a field name, or empty for the body itself.',
    example: 'text',
  })
  path!: string;

  @ApiProperty({
    description: 'What is wrong there. Never quotes the submitted value.',
    example: 'must contain at least 1 text',
  })
  message!: string;
}

/** OpenAPI schema of `Problem`: the RFC 9457 body of every error response. */
@ApiSchema({
  name: 'Problem',
  description: 'RFC 9457 problem details: the body of every error response (`application/problem+json`).',
})
export class ProblemDto implements Problem {
  @ApiProperty({
    description: 'Stable URI identifying the kind of problem (`urn:sentiment-api:problem:<slug>`); switch on this.',
    example: 'urn:sentiment-api:problem:validation',
  })
  type!: string;

  @ApiProperty({
    description: 'Short human-readable summary of the kind of problem.',
    example: 'Unprocessable Content',
  })
  title!: string;

  @ApiProperty({
    type: 'integer',
    description: 'The HTTP status code of this response.',
    example: 422,
    minimum: 400,
    maximum: 599,
  })
  status!: number;

  @ApiProperty({
    description: 'What went wrong with this request and what to do about it. Never quotes submitted texts.',
    example: 'The request body is not a valid predict request.',
  })
  detail!: string;

  @ApiPropertyOptional({
    description:
      'The route (path template) of the operation that failed; absent when the request matched no route. ' +
      'Never the path as sent.',
    example: '/v1/sentiment/predict',
  })
  instance?: string;

  @ApiProperty({
    description: 'The request id, also sent as the `X-Request-Id` header; quote it when reporting a problem.',
    example: '5f0c6a8e-3b1d-4c2a-9e7f-1a2b3c4d5e6f',
  })
  requestId!: string;

  @ApiPropertyOptional({
    description: 'Validation problems only: every invalid part of the body (the first 20).',
    type: [ProblemFieldErrorDto],
  })
  errors?: ProblemFieldErrorDto[];
}
