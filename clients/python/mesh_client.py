#!/usr/bin/python3
"""Calls the mesh through the gateway with stubs generated from protos/ only (generate.sh).

    clients/python/generate.sh && PYTHONPATH=clients/python/gen \
      MESH_ADDRESS=127.0.0.1:8080 MESH_API_KEY=$(cat .mesh/dev-key) python3 clients/python/mesh_client.py

Streams a Generate, creates a collection, upserts and searches it, checks a text with Guard, and
shows that errors arrive as gRPC statuses (NOT_FOUND for an unknown model, UNAUTHENTICATED without a
key). Prints one JSON line of what it saw; exits non-zero at the first unexpected answer.
"""
import json
import os
import sys
import uuid

import grpc
from mesh.guard.v1 import guard_pb2, guard_pb2_grpc
from mesh.inference.v1 import inference_pb2, inference_pb2_grpc
from mesh.retrieval.v1 import retrieval_pb2, retrieval_pb2_grpc


def expect(condition, what):
    if not condition:
        sys.exit(f"mesh_client.py: unexpected: {what}")


def main():
    address = os.environ.get("MESH_ADDRESS", "127.0.0.1:8080")
    key = os.environ["MESH_API_KEY"]
    model = os.environ.get("MESH_MODEL", "stories260K")
    auth = [("authorization", f"Bearer {key}")]
    seen = {}

    with grpc.insecure_channel(address) as channel:
        inference = inference_pb2_grpc.InferenceServiceStub(channel)
        retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        guard = guard_pb2_grpc.GuardServiceStub(channel)

        # Server-streaming Generate: one message per decoded piece, the last with a finish reason.
        pieces, finish = [], None
        request = inference_pb2.GenerateRequest(model=model, prompt="Once upon a time", max_tokens=16)
        for response in inference.Generate(request, metadata=auth, timeout=60):
            pieces.append(response.text)
            if response.finish_reason:
                finish = inference_pb2.FinishReason.Name(response.finish_reason)
        expect(len(pieces) > 0 and "".join(pieces).strip(), "Generate streamed no text")
        seen["generate_messages"] = len(pieces)
        seen["generate_text"] = "".join(pieces)
        seen["finish_reason"] = finish

        collection = "py-" + uuid.uuid4().hex[:12]
        retrieval.CreateCollection(retrieval_pb2.CreateCollectionRequest(
            name=collection, dimensions=3, metric=retrieval_pb2.METRIC_COSINE), metadata=auth, timeout=30)
        points = [
            retrieval_pb2.PointStruct(id=retrieval_pb2.PointId(num=i), vector=retrieval_pb2.Vector(values=v))
            for i, v in enumerate([[1, 0, 0], [0, 1, 0], [0, 0, 1]], start=1)]
        retrieval.Upsert(retrieval_pb2.UpsertRequest(collection=collection, points=points), metadata=auth, timeout=30)
        found = retrieval.Search(retrieval_pb2.SearchRequest(
            collection=collection, vector=retrieval_pb2.Vector(values=[0.1, 0.9, 0.0]), limit=2), metadata=auth, timeout=30)
        seen["search_ids"] = [p.id.num for p in found.points]
        expect(seen["search_ids"][:1] == [2], f"Search ranked {seen['search_ids']}, expected point 2 first")
        retrieval.DropCollection(retrieval_pb2.DropCollectionRequest(name=collection), metadata=auth, timeout=30)

        checked = guard.Check(guard_pb2.CheckRequest(
            stage=guard_pb2.STAGE_OUTPUT, text="Write to jane.doe@example.com today."), metadata=auth, timeout=30)
        seen["check_verdict"] = guard_pb2.Action.Name(checked.verdict)
        seen["check_redacted"] = checked.redacted_text
        expect("jane.doe@example.com" not in checked.redacted_text, "Guard left the e-mail address in")

        for name, call in [
            ("unknown_model", lambda: inference.Complete(
                inference_pb2.GenerateRequest(model="no-such-model", prompt="x", max_tokens=1), metadata=auth, timeout=30)),
            ("no_key", lambda: guard.Check(guard_pb2.CheckRequest(stage=guard_pb2.STAGE_OUTPUT, text="hi"), timeout=30)),
        ]:
            try:
                call()
                expect(False, f"{name}: the call succeeded")
            except grpc.RpcError as error:
                seen[name] = error.code().name

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
