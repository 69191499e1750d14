import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsArray, IsBoolean, IsDefined, IsIn, IsInt, IsOptional, Min } from 'class-validator';
import { LONG_TEXT_MODES, type LongTextMode } from '../../inference/long-text.js';

export const SCORE_FUNCTIONS = ['default', 'softmax', 'sigmoid', 'none'] as const;
export type ScoreFunctionOption = (typeof SCORE_FUNCTIONS)[number];
export const TRUNCATION_DIRECTIONS = ['right', 'left'] as const;

// Option names are the transformers pipeline's (`top_k`, `function_to_apply`), as callers of the
// serving engines know them; leaving every option out answers exactly as before they existed.
@ApiSchema({ name: 'PredictRequest', description: 'Texts to classify, and how to answer them.' })
export class PredictRequestDto {
  @ApiProperty({
    description:
      'Texts to classify, answered in the same order. Each may be empty; longer token sequences are ' +
      'cut to the model maximum (512 tokens) unless `truncate` is false, or read whole in windows with ' +
      '`long_text: "chunk"`. Limits: MAX_BATCH_SIZE items, MAX_TEXT_CHARS characters each.',
    type: [String],
    minItems: 1,
    example: ['I love you', 'I hate you'],
  })
  @IsDefined({ message: 'is required' })
  @IsArray({ message: 'must be an array of strings' })
  text!: string[];

  @ApiPropertyOptional({
    description:
      'Answer only the k highest-scoring labels of each text (1 to the number of labels). Default: every label.',
    type: 'integer',
    minimum: 1,
    example: 1,
  })
  @IsOptional()
  @IsInt({ message: 'must be an integer' })
  @Min(1, { message: 'must be at least 1' })
  top_k?: number;

  @ApiPropertyOptional({
    description:
      'How logits become scores: `softmax` (a text’s scores sum to 1), `sigmoid` (each label scored on its own, ' +
      '0 to 1), `none` (the raw logits). `default` follows the model’s config: `sigmoid` for a multi-label model ' +
      '(`problem_type: multi_label_classification`), `softmax` otherwise (see `scoreFunction` in `GET /v1/model`).',
    enum: SCORE_FUNCTIONS,
    default: 'default',
  })
  @IsOptional()
  @IsIn(SCORE_FUNCTIONS, { message: `must be one of ${SCORE_FUNCTIONS.join(', ')}` })
  function_to_apply?: ScoreFunctionOption;

  @ApiPropertyOptional({
    description:
      'Whether a text longer than the model’s maximum (`maxSequenceLength` tokens) is cut to fit (`true`) or ' +
      'refused with 422 naming the text, its token count and the limit (`false`).',
    default: true,
  })
  @IsOptional()
  @IsBoolean({ message: 'must be true or false' })
  truncate?: boolean;

  @ApiPropertyOptional({
    description:
      'Which end of a too-long text is cut: `right` keeps its beginning, `left` keeps its end (where a review ' +
      'often gives its verdict).',
    enum: TRUNCATION_DIRECTIONS,
    default: 'right',
  })
  @IsOptional()
  @IsIn(TRUNCATION_DIRECTIONS, { message: `must be one of ${TRUNCATION_DIRECTIONS.join(', ')}` })
  truncation_direction?: (typeof TRUNCATION_DIRECTIONS)[number];

  @ApiPropertyOptional({
    description:
      'How a text longer than the model’s maximum (`maxSequenceLength` tokens) is read. `truncate`: cut, as ' +
      '`truncate` and `truncation_direction` say; what is past the cut never counts. `chunk`: read whole, in ' +
      'overlapping windows of the model’s maximum (consecutive windows share `LONG_TEXT_STRIDE_PERCENT`, by default ' +
      'a quarter, of their tokens), each classified like a text of its own; the text’s logits are the mean of its ' +
      'windows’ logits weighted by their length in tokens, then `function_to_apply` makes its scores. A text that ' +
      'fits is one window and answers exactly as with `truncate`. Nothing is cut, so `truncate` and ' +
      '`truncation_direction` do not apply. A text may need at most `LONG_TEXT_MAX_WINDOWS` windows (422), a ' +
      'request `LONG_TEXT_MAX_WINDOWS_PER_REQUEST` (413); a long text costs its windows in model time and admission.',
    enum: LONG_TEXT_MODES,
    default: 'truncate',
  })
  @IsOptional()
  @IsIn(LONG_TEXT_MODES, { message: `must be one of ${LONG_TEXT_MODES.join(', ')}` })
  long_text?: LongTextMode;

  @ApiPropertyOptional({
    description:
      'Also answer `details`: per text its token count, whether it was cut, where its answer came from, and with ' +
      '`long_text: "chunk"` the windows it was read in.',
    default: false,
  })
  @IsOptional()
  @IsBoolean({ message: 'must be true or false' })
  details?: boolean;
}
