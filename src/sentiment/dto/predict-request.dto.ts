import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsArray, IsDefined } from 'class-validator';

@ApiSchema({ name: 'PredictRequest', description: 'Texts to classify.' })
export class PredictRequestDto {
  @ApiProperty({
    description:
      'Texts to classify, answered in the same order. Each may be empty; longer token sequences are ' +
      'truncated to the model maximum (512 tokens), never rejected. Limits: MAX_BATCH_SIZE items, ' +
      'MAX_TEXT_CHARS characters each.',
    type: [String],
    minItems: 1,
    example: ['I love you', 'I hate you'],
  })
  @IsDefined({ message: 'is required' })
  @IsArray({ message: 'must be an array of strings' })
  text!: string[];
}
