"""The ConsistentGuard trainer: seed data, distillation, SFT, GRPO rewards, CAO pairs and loss, MLC loss."""
