"""Generated protobuf and gRPC code; never edited, see scripts/gen-protos."""
