"""The sample bank: a seeded, realistic bank whose true process is known.

core.py draws the bank chunk by chunk (population.py, activity.py, balances.py,
contacts.py, surveys.py, with every parameter in params.py); stage.py is `crm sample`,
which writes the raw exports (exports.py, dirt.py, writer.py) and the ground truth.
"""

from pipeline.sample.core import Chunk, Setup, generate_chunk, make_setup

__all__ = ["Chunk", "Setup", "generate_chunk", "make_setup"]
