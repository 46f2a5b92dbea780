"""Train, validate, test or predict with any method and DataModule:

python train.py fit -c configs/experiments/n2n_samples.yaml
python train.py fit -c configs/experiments/n2n_samples.yaml --ckpt_path last   # resume
python train.py test -c configs/experiments/n2n_samples.yaml --ckpt_path last
"""

from cli import main

if __name__ == "__main__":
    main()
