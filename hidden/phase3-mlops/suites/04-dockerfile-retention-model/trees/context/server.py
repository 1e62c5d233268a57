"""The churn model's HTTP service (from 03-packaging-serving), served by uvicorn in the image."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL = Path(__file__).with_name("model.onnx")
session = ort.InferenceSession(MODEL.read_bytes(), providers=["CPUExecutionProvider"])
app = FastAPI(title="retention-model")


class Batch(BaseModel):
    instances: list[list[float]]


@app.get("/livez")
def health():
    return {"status": "ok"}


@app.post("/predict")
def predict(batch: Batch):
    rows = np.asarray(batch.instances, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[1] != 6:
        raise HTTPException(status_code=400, detail="each instance needs 6 numbers")
    probabilities = session.run(["probabilities"], {"features": rows})[0][:, 1]
    return {"predictions": probabilities.tolist()}
