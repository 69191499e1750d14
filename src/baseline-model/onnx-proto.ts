import protobuf from 'protobufjs';

/**
 * The subset of the ONNX schema (onnx/onnx.proto, proto2) that the baseline generator
 * writes. Field numbers and types are the upstream ones, so any ONNX reader accepts the
 * output; messages and fields the generator never sets are left out.
 */
const ONNX_SCHEMA_SUBSET = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    INTS = 7;
  }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  repeated int64 ints = 8;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}
`;

/** `TensorProto.DataType` values used by the generator (the field itself is a plain int32). */
export const OnnxDataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT64: 7 } as const;
export type OnnxDataTypeValue = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** `AttributeProto.AttributeType` values used by the generator. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, INTS: 7 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: OnnxDataTypeValue;
  /** Little-endian element bytes, as ONNX requires for `raw_data`. */
  raw_data: Uint8Array;
}

export type OnnxAttribute =
  | { name: string; type: typeof OnnxAttributeType.FLOAT; f: number }
  | { name: string; type: typeof OnnxAttributeType.INT; i: number }
  | { name: string; type: typeof OnnxAttributeType.INTS; ints: number[] };

export interface OnnxNode {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

export type OnnxDimension = { dim_value: number } | { dim_param: string };

export interface OnnxValueInfo {
  name: string;
  type: { tensor_type: { elem_type: OnnxDataTypeValue; shape: { dim: OnnxDimension[] } } };
}

export interface OnnxGraph {
  name: string;
  doc_string: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}

export interface OnnxModel {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version: string;
  doc_string: string;
  graph: OnnxGraph;
  metadata_props: { key: string; value: string }[];
}

// keepCase so message objects use the schema's snake_case names, as ONNX documents them.
const modelType = protobuf.parse(ONNX_SCHEMA_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');

/** Room for everything but the weights (names, nodes, shapes): well under this for DistilBERT-base. */
const STRUCTURE_HEADROOM = 1 << 20;

/** Serialises a model to the ONNX protobuf wire format. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const problem = modelType.verify(model);
  if (problem) throw new Error(`Invalid ONNX model: ${problem}`);
  // protobufjs grows its buffer by doubling and copies it once more in finish(); for a ~270 MB
  // model that briefly holds ~3x the file in memory. Sizing the buffer up front and returning a
  // view of it keeps generation near 1x and roughly halves the encoding time.
  const weightBytes = model.graph.initializer.reduce((sum, tensor) => sum + tensor.raw_data.byteLength, 0);
  const defaultSize = protobuf.Writer.initialBufferSize;
  protobuf.Writer.initialBufferSize = weightBytes + STRUCTURE_HEADROOM;
  try {
    return modelType.encode(model, protobuf.Writer.create()).finish(true);
  } finally {
    protobuf.Writer.initialBufferSize = defaultSize;
  }
}

/** Parses an ONNX file back into plain objects (int64 as numbers); used to inspect generated graphs. */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  const message = modelType.decode(bytes);
  return modelType.toObject(message, { longs: Number, arrays: true }) as OnnxModel;
}
