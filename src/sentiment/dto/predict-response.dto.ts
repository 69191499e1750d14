import { ApiProperty, getSchemaPath } from '@nestjs/swagger';

export class LabelScoreDto {
  @ApiProperty({ description: 'A label of the model.', example: 'POSITIVE' })
  label!: string;

  @ApiProperty({
    description: 'Softmax probability of the label; the scores of one text sum to 1.',
    minimum: 0,
    maximum: 1,
    example: 0.9998,
  })
  score!: number;
}

export class PredictResponseDto {
  @ApiProperty({
    description: 'Name of the model that answered (the last segment of its id).',
    example: 'distilbert-base-uncased-finetuned-sst-2-english',
  })
  model!: string;

  @ApiProperty({
    description: '`predictions[i]` answers `text[i]`: every label of the model, sorted by score, highest first.',
    type: 'array',
    items: { type: 'array', items: { $ref: getSchemaPath(LabelScoreDto) } },
  })
  predictions!: LabelScoreDto[][];
}
