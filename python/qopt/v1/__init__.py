"""Generated protobuf and gRPC code for qopt.v1 (scripts/gen_protos.py; do not edit)."""
