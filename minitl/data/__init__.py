"""``minitl.data``: data sets, loaders, transforms and transfer-learning splits.

    idx.py            the IDX file format (MNIST / Fashion-MNIST files)
    dataset.py        Dataset, ArrayDataset (in-memory, batch-at-a-time), Subset
    fashion_mnist.py  FashionMNIST: search order, download, the bundled sample
    mnist.py          MNIST (handwritten digits, the second domain): search order, the bundled sample
    domains.py        whole data sets by name ("fashion", "digits"): transfer across data sets
    download.py       fetch a file: progress bar, checksum, atomic write
    image_folder.py   ImageFolder: your own pictures, one sub-folder per class
    pixels.py         what a pixel value means: PIL image / integer array -> float32 [0, 1]
    loader.py         DataLoader: reproducible batches of Tensors on a device
    transforms.py     ToTensor, Normalize, RandomCrop, RandomShift, RandomHorizontalFlip, Resize,
    Grayscale, Compose (each works on one image or a whole batch)
    geometry_transforms.py  CenterCrop, RandomResizedCrop, RandomRotation (torchvision's arguments),
                      PermutePixels (the similarity dial)
    color_transforms.py     ColorJitter (brightness, contrast, saturation)
    splits.py         class_subset, few_shot, train_val_split, fashion_split("A" / "B")
    errors.py         the package's exceptions
    bundled/          fashion_mnist_mini.npz (13,000 images), mnist_mini.npz (5,000), licence notices
"""
from .color_transforms import ColorJitter
from .dataset import ArrayDataset, Dataset, Subset
from .domains import DOMAINS, load_domain
from .errors import ChecksumError, DatasetError, DatasetNotFoundError, DownloadError, IdxFormatError, ImageFolderError
from .fashion_mnist import FASHION_MNIST_CLASSES, FashionMNIST, fashion_mnist_mini
from .geometry_transforms import CenterCrop, PermutePixels, RandomResizedCrop, RandomRotation
from .idx import read_idx, write_idx
from .image_folder import ImageFolder
from .loader import DataLoader
from .mnist import MNIST, MNIST_CLASSES
from .splits import FASHION_SPLITS, TRANSFER_PAIRS, class_subset, define_split, fashion_split, few_shot, train_val_split
from .transforms import (
    Compose,
    Grayscale,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomShift,
    Resize,
    ToTensor,
    channel_mean_std,
)

__all__ = [
    "ArrayDataset", "Dataset", "Subset",
    "ChecksumError", "DatasetError", "DatasetNotFoundError", "DownloadError", "IdxFormatError",
    "ImageFolderError",
    "FASHION_MNIST_CLASSES", "FashionMNIST", "fashion_mnist_mini",
    "MNIST", "MNIST_CLASSES", "DOMAINS", "load_domain",
    "read_idx", "write_idx",
    "ImageFolder",
    "DataLoader",
    "FASHION_SPLITS", "TRANSFER_PAIRS", "class_subset", "define_split", "fashion_split", "few_shot", "train_val_split",
    "Compose", "Grayscale", "Normalize", "RandomCrop", "RandomHorizontalFlip", "RandomShift",
    "Resize", "ToTensor", "channel_mean_std",
    "CenterCrop", "ColorJitter", "PermutePixels", "RandomResizedCrop", "RandomRotation",
]
